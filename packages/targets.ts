/**
 * The browsers `@hipochat/client` and the demo page support (esbuild targets). The package tests
 * check the built bundle uses nothing newer; raising them is a README change too.
 */
export const BROWSER_TARGETS: readonly string[] = ['es2020', 'chrome100', 'firefox100', 'safari15'];

/** The Node versions of `@hipochat/server` (its `engines`). */
export const SERVER_TARGETS: readonly string[] = ['node20'];
