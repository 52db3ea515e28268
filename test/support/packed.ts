import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PACKED_APP_ENV } from '../packages/global-setup.js';

export { PACKAGES, PACKED_APP_ENV } from '../packages/global-setup.js';

/** The app the packages are installed into (the packages project's global setup made it). */
export function packedApp(): string {
  const app = process.env[PACKED_APP_ENV];
  if (!app || !existsSync(app))
    throw new Error(`${PACKED_APP_ENV} is not set: run the packages project with jest`);
  return app;
}

/** Plain `node` in the app (no tsx), with a global WebSocket on Node 20 too. */
export function nodeInApp(script: string, args: string[] = [], env: Record<string, string> = {}) {
  const flags =
    typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'undefined'
      ? ['--experimental-websocket']
      : [];
  return spawn(process.execPath, [...flags, script, ...args], {
    cwd: packedApp(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}
