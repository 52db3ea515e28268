/**
 * Test tiers (see README): unit and infra need nothing; integration, e2e and browser need the
 * Redis and RabbitMQ services and fail (never skip) when they are missing.
 */
const transform = {
  '^.+\\.tsx?$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
  ],
};
const common = {
  transform,
  testEnvironment: 'node',
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // The workspace packages, to their TypeScript sources (the packages project tests the builds).
    '^@hipochat/client$': '<rootDir>/packages/client/src/index.ts',
    '^@hipochat/server$': '<rootDir>/packages/server/src/index.ts',
    '^hipochat-serverless/protocol$': '<rootDir>/protocol/index.ts',
  },
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
  // Shared 2-core CI machines: generous bounds, never timing assertions.
  testTimeout: 60_000,
};

/** @type {import('jest').Config} */
export default {
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
    { ...common, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'] },
    { ...common, displayName: 'faults', testMatch: ['<rootDir>/test/faults/**/*.test.ts'] },
    {
      // The packed tarballs installed into an app outside the repository, run with plain node.
      ...common,
      displayName: 'packages',
      testMatch: ['<rootDir>/test/packages/**/*.test.ts'],
      globalSetup: '<rootDir>/test/packages/global-setup.ts',
      globalTeardown: '<rootDir>/test/packages/global-teardown.ts',
    },
  ],
};
