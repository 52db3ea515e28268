import { rmSync } from 'node:fs';

/** Removes the app the global setup installed the packages into (its env variable, spelled out: no imports here). */
export default function teardown(): void {
  const app = process.env.HIPOCHAT_PACKED_APP;
  if (app) rmSync(app, { recursive: true, force: true });
}
