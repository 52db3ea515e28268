#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx hipochat` works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/hipochat.ts');
const code = await main(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stdin: process.stdin,
  env: process.env,
});
process.exitCode = code;
// Keep-alive HTTP sockets may linger for seconds; leave once the output is flushed.
process.stdout.write('', () => setTimeout(() => process.exit(code), 50).unref());
