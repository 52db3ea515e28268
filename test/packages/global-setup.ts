import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Jest loads this file without the suites' module mapping: it imports nothing of the repository.

const ROOT = resolve(__dirname, '../..');

/** The env variable that names the temporary app the packed packages are installed into. */
export const PACKED_APP_ENV = 'HIPOCHAT_PACKED_APP';

/** The packages, as their directories under packages/ and their npm names. */
export const PACKAGES = [
  { dir: 'client', name: '@hipochat/client' },
  { dir: 'server', name: '@hipochat/server' },
] as const;

/**
 * Builds the packages (unless built), packs them with `npm pack`, and installs the tarballs into a
 * new project outside the repository with `npm install --offline` (they have no dependencies, so
 * nothing is downloaded). Returns the project's directory.
 */
export function packAndInstall(): string {
  if (!PACKAGES.every(({ dir }) => existsSync(join(ROOT, 'packages', dir, 'dist/index.js')))) {
    execFileSync('npm', ['run', 'build:packages'], { cwd: ROOT, stdio: 'inherit' });
  }
  const app = mkdtempSync(join(tmpdir(), 'hipochat-app-'));
  const tarballs = join(app, 'tarballs');
  mkdirSync(tarballs);
  for (const { dir } of PACKAGES) {
    execFileSync('npm', ['pack', '--silent', '--pack-destination', tarballs], {
      cwd: join(ROOT, 'packages', dir),
    });
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'an-app', private: true, type: 'module' }));
  const files = readdirSync(tarballs).map((file) => join(tarballs, file));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', ...files], {
    cwd: app,
    stdio: 'pipe',
  });
  return app;
}

/** Packs and installs the packages once per run, for every test of the packages project. */
export default function setup(): void {
  process.env[PACKED_APP_ENV] = packAndInstall();
}
