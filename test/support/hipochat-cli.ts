import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

/** How a CLI run ended. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Spawns `npx hipochat ...` the way a user would (the package's bin entry), without the
 * credentials of the environment, killed after 90 s.
 */
export function spawnHipochat(args: string[]): {
  child: ChildProcessWithoutNullStreams;
  output(): string;
  closed: Promise<Run>;
} {
  const child = spawn(process.execPath, ['bin/hipochat.mjs', ...args], {
    cwd: ROOT,
    env: { ...process.env, HIPOCHAT_SERVICE_KEY: '', HIPOCHAT_TOKEN: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const closed = new Promise<Run>((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
  return { child, output: () => `${stdout}${stderr}`, closed };
}

/** Runs `npx hipochat ...` with `stdin` and resolves when it exits. */
export function hipochat(args: string[], stdin = ''): Promise<Run> {
  const { child, closed } = spawnHipochat(args);
  child.stdin.end(stdin);
  return closed;
}
