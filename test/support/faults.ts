import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AMQP_URL, type ChatEndpoints, startGateway } from './gateway.js';
import { freePort, listenOnLoopback } from './net.js';
import type { TestSocket } from './socket.js';
import { eventually, pause } from './wait.js';

const run = promisify(execFile);

/** Runs `redis-cli -p <port> <args>` and returns its output. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout.trim();
}

/** A redis-server child process this test owns. */
export interface OwnRedis {
  port: number;
  url: string;
  pid(): number | undefined;
  /** SIGKILL (a crash), `downMs` later start again on the same port with the same data directory. */
  crash(downMs?: number): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a redis-server of its own on a spare port. `durable` keeps an append-only file fsynced on
 * every write, so a crash loses nothing Redis acknowledged.
 */
export async function startRedis(
  options: { durable?: boolean; extra?: string[]; port?: number } = {},
): Promise<OwnRedis> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'hipochat-redis-'));
  let child: ChildProcess | undefined;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    ...(options.durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    '--daemonize',
    'no',
    ...(options.extra ?? []),
  ];
  const redis: OwnRedis = {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    pid: () => child?.pid,
    async start() {
      const spawned = spawn('redis-server', args, { stdio: 'ignore' });
      child = spawned;
      await eventually(
        async () => (await redisCli(port, 'ping').catch(() => '')) === 'PONG',
        `redis-server on ${port}`,
        10_000,
      );
    },
    async crash(downMs = 0) {
      await kill(child, 'SIGKILL');
      await pause(downMs);
      await redis.start();
    },
    async stop() {
      await kill(child, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}

/** Kills a child this test started, by its pid, and waits for it to exit. */
export async function kill(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM') {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((done) => {
    child.once('exit', () => done());
    child.kill(signal);
  });
}

/** A 3-node Redis cluster of this test's own processes. */
export interface OwnCluster {
  ports: number[];
  url: string;
  stop(): Promise<void>;
}

/** Starts three cluster-enabled redis-servers on spare ports and joins them (no replicas). */
export async function startRedisCluster(): Promise<OwnCluster> {
  const nodes: OwnRedis[] = [];
  for (let i = 0; i < 3; i += 1) {
    const port = await freePort();
    nodes.push(
      await startRedis({
        port,
        extra: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
      }),
    );
  }
  const ports = nodes.map((node) => node.port);
  await run('redis-cli', [
    '--cluster',
    'create',
    ...ports.map((port) => `127.0.0.1:${port}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  await eventually(
    async () => (await redisCli(ports[0]!, 'cluster', 'info')).includes('cluster_state:ok'),
    'cluster_state:ok',
    15_000,
  );
  return {
    ports,
    url: `redis://127.0.0.1:${ports[0]}`,
    stop: async () => {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}

/** A TCP proxy on a spare loopback port in front of `target`; it can cut and refuse connections. */
export interface TcpProxy {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  /** Destroys every open connection (both sides), as a broker restart or a NAT timeout would. */
  cut(): void;
  /** While refusing, new connections are closed at once. */
  refuse(on: boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let refusing = false;
  const server = createServer((client) => {
    proxy.accepted += 1;
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const proxy: TcpProxy = {
    port: await listenOnLoopback(server),
    accepted: 0,
    cut() {
      for (const socket of open) socket.destroy();
      open.clear();
    },
    refuse(on) {
      refusing = on;
    },
    close: () =>
      new Promise<void>((done) => {
        proxy.cut();
        server.close(() => done());
      }),
  };
  return proxy;
}

/** One request the management-API proxy saw. */
export interface SeenPost {
  method: string;
  connectionId: string;
  body: string;
  /** The status the proxy answered with itself, or undefined when it passed the request on. */
  injected?: number;
}

/** What the proxy does with a request: pass it on, or answer it with this status. */
export type PostDecision = 'pass' | 429 | 500 | 503;

/**
 * An HTTP proxy in front of the gateway's `@connections` endpoint (`HIPOCHAT_CONNECTIONS_URL`)
 * that answers chosen requests with 429/5xx, as a throttled or failing API Gateway would.
 */
export interface ConnectionsProxy {
  url: string;
  seen: SeenPost[];
  /** Where requests are passed on (set once the gateway is up). */
  target?: string;
  decide: (post: SeenPost) => PostDecision;
  close(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = {
  429: 'LimitExceededException',
  500: 'InternalServerErrorException',
  503: 'ServiceUnavailableException',
};

export async function startConnectionsProxy(): Promise<ConnectionsProxy> {
  let server: Server;
  const proxy: ConnectionsProxy = {
    url: '',
    seen: [],
    decide: () => 'pass',
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
  server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = request.url ?? '/';
      const post: SeenPost = {
        method: request.method ?? 'GET',
        connectionId: decodeURIComponent(path.replace(/^.*\/@connections\//, '')),
        body: body.toString('utf8'),
      };
      proxy.seen.push(post);
      const decision = proxy.target ? proxy.decide(post) : 503;
      if (decision !== 'pass') {
        post.injected = decision;
        response.writeHead(decision, {
          'content-type': 'application/json',
          'x-amzn-errortype': ERROR_TYPES[decision] ?? 'InternalServerErrorException',
        });
        response.end(JSON.stringify({ message: 'injected fault' }));
        return;
      }
      const target = new URL(proxy.target!);
      const upstream = httpRequest(
        {
          hostname: target.hostname,
          port: target.port,
          method: request.method,
          path,
          headers: request.headers,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on('error', () => {
        response.writeHead(502).end();
      });
      upstream.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  proxy.url = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  return proxy;
}

/** Gateway settings every fault scenario shares: no rate limit in the way of steady traffic. */
export const faultGatewayEnv = {
  HIPOCHAT_RATE_LIMIT_PER_MINUTE: '100000',
  HIPOCHAT_LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'error',
};

/** A gateway on a Redis of its own and the machine's RabbitMQ, posting to sockets through a ConnectionsProxy. */
export interface ProxiedChat {
  redis: OwnRedis;
  proxy: ConnectionsProxy;
  chat: ChatEndpoints;
  /** Stops the gateway, then the proxy, then Redis. */
  stop(): Promise<void>;
}

/**
 * Starts Redis, a ConnectionsProxy and a gateway (with `faultGatewayEnv` and `env`) whose
 * PostToConnection calls go through the proxy, so a test can watch and fail them.
 */
export async function startProxiedChat(env: Record<string, string> = {}): Promise<ProxiedChat> {
  const redis = await startRedis();
  let proxy: ConnectionsProxy | undefined;
  try {
    const connections = await startConnectionsProxy();
    proxy = connections;
    const chat = await startGateway({
      ...faultGatewayEnv,
      HIPOCHAT_REDIS_URL: redis.url,
      HIPOCHAT_AMQP_URL: AMQP_URL,
      ...env,
      HIPOCHAT_CONNECTIONS_URL: connections.url,
    });
    connections.target = chat.httpUrl;
    return {
      redis,
      proxy: connections,
      chat,
      async stop() {
        await chat.stop();
        await connections.close();
        await redis.stop();
      },
    };
  } catch (error) {
    await proxy?.close();
    await redis.stop();
    throw error;
  }
}

/** A seeded pseudo-random generator (mulberry32), so injected faults repeat run to run. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Message frames (those with an id and a body) a socket received. */
export function messageFrames(socket: TestSocket): Record<string, unknown>[] {
  return socket.frames.filter((f) => typeof f.id === 'string' && f.type !== 'ack' && 'body' in f);
}

/** What one sender saw for one tracked send. */
export type SendOutcome = { clientId: string } & (
  | { acked: true; id: string }
  | { acked: false; error: string }
);

/**
 * Counts what a scenario sent, what was acknowledged and what each live socket received, the
 * way a client that dedupes by `id` would.
 */
export class TrafficCounter {
  sent = 0;
  readonly acked = new Map<string, string>();
  readonly errors: string[] = [];
  private sequence = 0;

  constructor(private readonly prefix: string) {}

  /**
   * Sends one message with a fresh `clientId` (or `retryOf`'s, a retry) and waits for its ack or
   * error frame (frames of one connection are answered in order, and error frames echo the `clientId`).
   */
  async send(socket: TestSocket, body: unknown, timeoutMs = 15_000, retryOf?: string): Promise<SendOutcome> {
    this.sequence += 1;
    const clientId = retryOf ?? `${this.prefix}-${this.sequence}`;
    this.sent += 1;
    // A retry's answer is a frame after it, not the answer to the first try.
    const earlier = new Set(socket.frames);
    socket.send({ type: 'message', body, clientId });
    const answer = await socket.next(
      (f) => f.clientId === clientId && (f.type === 'ack' || typeof f.ERROR === 'string') && !earlier.has(f),
      timeoutMs,
    );
    if (answer.type === 'ack') {
      this.acked.set(clientId, answer.id as string);
      return { clientId, acked: true, id: answer.id as string };
    }
    this.errors.push(answer.ERROR as string);
    return { clientId, acked: false, error: answer.ERROR as string };
  }

  /** Ids of acknowledged messages. */
  ackedIds(): Set<string> {
    return new Set(this.acked.values());
  }

  /** Ids of acknowledged messages that have not reached `socket` (yet). */
  missing(socket: TestSocket): string[] {
    const got = new Set(messageFrames(socket).map((f) => f.id as string));
    return [...this.ackedIds()].filter((id) => !got.has(id));
  }

  /** Whether every acknowledged message reached `socket`. */
  allDelivered(socket: TestSocket): boolean {
    return this.missing(socket).length === 0;
  }

  /**
   * Waits until every acknowledged message reached every socket; on timeout the error names the
   * missing ids and ends with the gateway's output.
   */
  async waitUntilDelivered(sockets: readonly TestSocket[], output: () => string, timeoutMs = 30_000) {
    try {
      await eventually(
        () => sockets.every((socket) => this.allDelivered(socket)),
        'every ack delivered',
        timeoutMs,
      );
    } catch (error) {
      const missing = sockets.map((socket) => this.missing(socket));
      throw new Error(
        `${String(error)}; missing per socket: ${JSON.stringify(missing)}\n${output().slice(-4000)}`,
      );
    }
  }

  /** Totals over `sockets`: distinct acknowledged messages delivered, copies dropped by dedupe, lost. */
  tally(sockets: readonly TestSocket[]): { delivered: number; duplicated: number; lost: number } {
    const acked = this.ackedIds();
    let delivered = 0;
    let duplicated = 0;
    let lost = 0;
    for (const socket of sockets) {
      const ids = messageFrames(socket)
        .map((f) => f.id as string)
        .filter((id) => acked.has(id));
      const distinct = new Set(ids);
      delivered += distinct.size;
      duplicated += ids.length - distinct.size;
      lost += acked.size - distinct.size;
    }
    return { delivered, duplicated, lost };
  }
}
