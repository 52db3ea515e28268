/** Processes the bench starts and measures: servers, a private Redis, a private RabbitMQ vhost. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../test/support/net.js';

const run = promisify(execFile);

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, '..');
const CLOCK_TICKS = 100;

/** A server process the bench started; `stop` is bounded in time. */
export interface Started {
  pid: number;
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** User + system CPU seconds a process has used so far (from `/proc/<pid>/stat`). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Peak resident set size in bytes (`VmHWM` of `/proc/<pid>/status`). */
export function peakRss(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Pids whose command name is `name` (e.g. RabbitMQ's `beam.smp`). */
export function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return pids;
}

/**
 * Spawns `node --import tsx <script>` (or another command) and resolves once its output shows
 * `listening on http://127.0.0.1:<port>`; rejects with the output after `timeoutMs`.
 */
export function startProcess(
  command: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
  pattern = /listening on http:\/\/127\.0\.0\.1:(\d+)/,
): Promise<Started> {
  const [file, ...args] = command;
  const child: ChildProcess = spawn(file!, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const stop = () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const force = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(force);
        done();
      });
      child.kill('SIGTERM');
    });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command.join(' ')} did not start in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    let found = false;
    const onData = (chunk: Buffer) => {
      if (output.length < 100_000) output += chunk.toString();
      const match = pattern.exec(output);
      if (found || !match) return;
      found = true;
      clearTimeout(timer);
      resolvePromise({
        pid: child.pid!,
        url: `http://127.0.0.1:${match[1]}`,
        output: () => output,
        stop,
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!found) reject(new Error(`${command.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

/** `node --import tsx <script>` as a command line. */
export function tsxCommand(script: string, ...args: string[]): string[] {
  return [process.execPath, '--import', 'tsx', script, ...args];
}

/**
 * A private `redis-server` on a free port (no persistence), so `INFO commandstats` and CPU are the
 * bench's own; `undefined` when the binary is missing. `extra`: more arguments (`--replicaof`…).
 */
export async function startPrivateRedis(
  extra: readonly string[] = [],
): Promise<(Started & { port: number }) | undefined> {
  const port = await freePort();
  try {
    const started = await startProcess(
      [
        'redis-server',
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--loglevel',
        'notice',
        ...extra,
      ],
      {},
      10_000,
      /Ready to accept connections/,
    );
    return { ...started, url: `redis://127.0.0.1:${port}/0`, port };
  } catch {
    return undefined;
  }
}

/**
 * A private RabbitMQ vhost, so gateways other people run against the same broker never consume
 * the bench's shard queues. Falls back to the default vhost when `rabbitmqctl` is unavailable.
 */
export async function privateVhost(base: string): Promise<{ url: string; remove(): Promise<void> }> {
  const vhost = `hipochat-bench-${process.pid}`;
  try {
    await run('rabbitmqctl', ['add_vhost', vhost], { timeout: 20_000 });
    await run('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*'], {
      timeout: 20_000,
    });
    return {
      url: `${base.replace(/\/$/, '')}/${vhost}`,
      remove: async () => {
        await run('rabbitmqctl', ['delete_vhost', vhost], { timeout: 20_000 }).catch(() => {});
      },
    };
  } catch {
    return { url: base, remove: async () => {} };
  }
}

/** `INFO commandstats` as command → calls. */
export function parseCommandStats(info: string): Map<string, number> {
  const stats = new Map<string, number>();
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) stats.set(match[1]!, Number(match[2]));
  }
  return stats;
}
