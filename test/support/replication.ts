import { connect, createServer, type Socket } from 'node:net';
import { type OwnRedis, redisCli, startRedis } from './faults.js';
import { listenOnLoopback } from './net.js';
import { eventually } from './wait.js';

/**
 * A TCP proxy on a spare loopback port that can hold back the bytes of its connections (a lagging
 * replication link) and be pointed at another server (an endpoint that moved in a failover).
 */
export interface HoldingProxy {
  port: number;
  /** While held, bytes in both directions are kept back; released, they flow on in order. */
  hold(on: boolean): void;
  /** Sends new connections to `port`; open ones stay where they are unless cut. */
  retarget(port: number): void;
  /** Destroys every open connection (both sides). */
  cut(): void;
  close(): Promise<void>;
}

interface Link {
  sockets: [Socket, Socket];
  held: [Socket, Buffer][];
}

/** Starts a HoldingProxy in front of the server on `targetPort`, passing bytes on. */
export async function startHoldingProxy(targetPort: number): Promise<HoldingProxy> {
  let target = targetPort;
  let holding = false;
  const links = new Set<Link>();
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    const link: Link = { sockets: [client, upstream], held: [] };
    links.add(link);
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (holding) link.held.push([to, chunk]);
      else to.write(chunk);
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    const drop = () => {
      client.destroy();
      upstream.destroy();
      links.delete(link);
    };
    for (const socket of link.sockets) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
  });
  const proxy: HoldingProxy = {
    port: await listenOnLoopback(server),
    hold(on) {
      holding = on;
      if (on) return;
      for (const link of links) {
        for (const [to, chunk] of link.held.splice(0)) to.write(chunk);
      }
    },
    retarget(port) {
      target = port;
    },
    cut() {
      for (const link of links) for (const socket of link.sockets) socket.destroy();
      links.clear();
    },
    close: () =>
      new Promise<void>((done) => {
        proxy.cut();
        server.close(() => done());
      }),
  };
  return proxy;
}

/** Waits until the Redis on `port` has `count` replicas online (synced and streaming). */
export async function replicasOnline(port: number, count: number): Promise<void> {
  await eventually(
    async () => {
      const info = await redisCli(port, 'info', 'replication').catch(() => '');
      return (info.match(/state=online/g) ?? []).length >= count;
    },
    `${count} replica(s) online on ${port}`,
    20_000,
  );
}

/** A primary and a replica of this test's own, the replication stream through a HoldingProxy. */
export interface ReplicatedRedis {
  primary: OwnRedis;
  replica: OwnRedis;
  /** The replica's link to the primary: hold it and the replica lags. */
  link: HoldingProxy;
  stop(): Promise<void>;
}

/** Starts a redis-server replicating the server (or proxy) on `primaryPort`. */
export function startReplicaOf(primaryPort: number): Promise<OwnRedis> {
  return startRedis({ extra: ['--replicaof', '127.0.0.1', String(primaryPort)] });
}

/** Starts a primary and its replica (linked through a HoldingProxy) and waits until the replica is online. */
export async function startReplicatedRedis(): Promise<ReplicatedRedis> {
  const primary = await startRedis();
  const link = await startHoldingProxy(primary.port);
  const replica = await startReplicaOf(link.port);
  await replicasOnline(primary.port, 1);
  return {
    primary,
    replica,
    link,
    async stop() {
      await replica.stop();
      await link.close();
      await primary.stop();
    },
  };
}
