/**
 * Start-up check of the services the local gateway depends on. The gateway serves while they are
 * down (requests answer 503, the MQ poller reconnects on its own); this says at once which one is
 * unreachable, where and why, instead of leaving it to the first request after its timeouts.
 */
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { backoffDelay } from '../lambdas/core/retry.js';

/** A service the gateway depends on, named without its credentials. */
export interface Dependency {
  /** `Redis` or `RabbitMQ`. */
  readonly name: string;
  /** `host:port`: never the URL, which may carry a password. */
  readonly address: string;
  /** Resolves once the service answers; rejects with why it does not. */
  probe(): Promise<void>;
  /** Secrets that must not appear in a reported cause. */
  readonly secrets: readonly string[];
}

const PROBE_TIMEOUT_MS = 3000;

/** `host:port` of a service URL (IPv6 hosts keep their brackets), with the scheme's default port. */
export function serviceAddress(url: string, defaultPorts: Record<string, number>): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || defaultPorts[parsed.protocol] || ''}`;
}

/** The password of a service URL, as written and decoded: what a reported cause must never show. */
export function secretsOf(url: string): string[] {
  const { password } = new URL(url);
  return password ? [password, decodeURIComponent(password)] : [];
}

/** Redis at the URL, checked with a PING on a connection of its own that never retries. */
export function redisDependency(url: string): Dependency {
  const parsed = new URL(url);
  return {
    name: 'Redis',
    address: serviceAddress(url, { 'redis:': 6379, 'rediss:': 6379 }),
    secrets: secretsOf(url),
    async probe() {
      const client = new Redis({
        host: parsed.hostname.replace(/^\[|\]$/g, ''),
        port: Number(parsed.port || 6379),
        username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
        password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
        ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
        lazyConnect: true,
        enableOfflineQueue: false,
        connectTimeout: PROBE_TIMEOUT_MS,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      // The connect promise only says "Connection is closed"; the first error event says why.
      let first: unknown;
      client.on('error', (error: unknown) => {
        first ??= error;
      });
      try {
        await client.connect();
        await client.ping();
      } catch (error) {
        throw first ?? error;
      } finally {
        client.disconnect();
      }
    },
  };
}

/** RabbitMQ at the URL, checked by opening and closing a connection. */
export function rabbitMqDependency(url: string): Dependency {
  return {
    name: 'RabbitMQ',
    address: serviceAddress(url, { 'amqp:': 5672, 'amqps:': 5671 }),
    secrets: secretsOf(url),
    async probe() {
      const connection = await amqp.connect(url, { timeout: PROBE_TIMEOUT_MS });
      connection.on('error', () => {});
      await connection.close();
    },
  };
}

/**
 * Why a connection failed, in a few words: the system error code (`ECONNREFUSED`, `ENOTFOUND`,
 * `ETIMEDOUT`) or the first line of the message (`WRONGPASS ...`), with `secrets` masked.
 */
export function failureCause(error: unknown, secrets: readonly string[] = []): string {
  const { code, message, errors } = (error ?? {}) as { code?: unknown; message?: unknown; errors?: unknown };
  const nested = Array.isArray(errors) ? (errors[0] as { code?: unknown } | undefined)?.code : undefined;
  let cause =
    typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code)
      ? code
      : typeof nested === 'string'
        ? nested
        : String(typeof message === 'string' && message ? message : error).split('\n')[0]!;
  for (const secret of secrets) if (secret) cause = cause.split(secret).join('***');
  return cause;
}

/** Options of {@link DependencyWatch}. */
export interface DependencyWatchOptions {
  /** First pause between attempts. @default 500 */
  baseDelayMs?: number;
  /** Longest pause between attempts. @default 5000 */
  maxDelayMs?: number;
}

/**
 * Probes each dependency until it answers: an unreachable one is reported as
 * `Redis at 127.0.0.1:6390 unreachable: ECONNREFUSED, retrying` (again only when the cause
 * changes), and `Redis at 127.0.0.1:6390 reachable` once it answers after that.
 */
export class DependencyWatch {
  private stopped = false;
  private readonly running: Promise<void>[] = [];
  private readonly wakers = new Set<() => void>();

  constructor(
    private readonly dependencies: readonly Dependency[],
    private readonly report: (line: string) => void,
    private readonly options: DependencyWatchOptions = {},
  ) {}

  /** Starts probing in the background. */
  start(): void {
    for (const dependency of this.dependencies) this.running.push(this.watch(dependency));
  }

  /** Stops probing; resolves when no probe is left running. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.wakers) wake();
    await Promise.all(this.running);
  }

  /** Waits `ms`, or less when the watch stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private async watch(dependency: Dependency): Promise<void> {
    const { name, address } = dependency;
    let reported: string | undefined;
    for (let attempt = 0; !this.stopped; attempt += 1) {
      try {
        await dependency.probe();
        if (reported !== undefined && !this.stopped) this.report(`${name} at ${address} reachable`);
        return;
      } catch (error) {
        const cause = failureCause(error, dependency.secrets);
        if (cause !== reported && !this.stopped) {
          this.report(`${name} at ${address} unreachable: ${cause}, retrying`);
          reported = cause;
        }
      }
      const base = this.options.baseDelayMs ?? 500;
      await this.pause(base + backoffDelay(attempt, base, this.options.maxDelayMs ?? 5000));
    }
  }
}
