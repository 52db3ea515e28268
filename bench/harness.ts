/**
 * The one client harness every system is measured with: R rooms × C sockets, S senders per room,
 * a paced sender, and a tracker that checks every delivery (right room, not lost, not duplicated).
 */
import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';

/** How a system's client connects, sends and recognises a delivery. */
export interface SystemClient {
  /** Opens one socket of `user` in `room`; `onDelivery` gets (room, sender key, seq) per frame. */
  connect(
    room: string,
    user: string,
    onDelivery: (room: string, key: number, seq: number) => void,
  ): Promise<ClientSocket>;
}

/** An open client socket. */
export interface ClientSocket {
  send(key: number, seq: number): void;
  close(): void;
}

function openWs(url: string, onText: (text: string) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`connect timeout ${url}`));
    }, 15_000);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    ws.on('message', (data) => onText(data.toString()));
  });
}

interface Body {
  k: number;
  s: number;
  t: number;
}

/** This project (the local gateway): API Gateway URL shape, stored messages fanned out. */
export function projectClient(wsBase: string): SystemClient {
  return {
    async connect(room, user, onDelivery) {
      const ws = await openWs(`${wsBase}/?room=${room}&token=${user}`, (text) => {
        const frame = JSON.parse(text) as { type?: string; room?: string; body?: Body };
        if (frame.type === 'message' && frame.body && typeof frame.body.s === 'number') {
          onDelivery(frame.room ?? '', frame.body.k, frame.body.s);
        }
      });
      ws.on('error', () => {});
      return {
        send: (k, s) =>
          ws.send(JSON.stringify({ type: 'message', body: { k, s, t: Date.now() }, clientId: `${k}-${s}` })),
        close: () => ws.terminate(),
      };
    },
  };
}

/** The minimal `ws` broadcast server: the frame comes back as sent. */
export function wsClient(wsBase: string): SystemClient {
  return {
    async connect(room, _user, onDelivery) {
      const ws = await openWs(`${wsBase}/?room=${room}`, (text) => {
        const frame = JSON.parse(text) as { room?: string; body?: Body };
        if (frame.body) onDelivery(frame.room ?? '', frame.body.k, frame.body.s);
      });
      ws.on('error', () => {});
      return {
        send: (k, s) => ws.send(JSON.stringify({ type: 'message', room, body: { k, s, t: Date.now() } })),
        close: () => ws.terminate(),
      };
    },
  };
}

/** Socket.IO: clients alternate between the given servers (which share a Redis adapter). */
export function socketIoClient(urls: readonly string[]): SystemClient {
  let next = 0;
  return {
    connect(room, _user, onDelivery) {
      const url = urls[next++ % urls.length]!;
      return new Promise((resolve, reject) => {
        const socket: Socket = io(url, {
          transports: ['websocket'],
          query: { room },
          forceNew: true,
          reconnection: false,
          timeout: 15_000,
        });
        socket.on('message', (payload: { room?: string; body?: Body }) => {
          if (payload.body) onDelivery(payload.room ?? '', payload.body.k, payload.body.s);
        });
        socket.once('connect', () =>
          resolve({
            send: (k, s) => socket.emit('message', { k, s, t: Date.now() }),
            close: () => socket.disconnect(),
          }),
        );
        socket.once('connect_error', reject);
      });
    },
  };
}

interface Sent {
  at: number;
  step: number;
  room: number;
  seen: Uint8Array;
  got: number;
}

/** Figures of one paced run. */
export interface StepResult {
  /** Offered messages per second. */
  rate: number;
  sent: number;
  /** Deliveries expected (sent × sockets per room). */
  expected: number;
  /** Deliveries received within the step window (for the rate). */
  deliveredInWindow: number;
  /** Deliveries per second within the step window. */
  deliveriesPerSecond: number;
  /** Deliveries still missing when the drain time ran out. */
  missingAfterDrain: number;
  p50: number;
  p95: number;
  p99: number;
  /** Whether every delivery arrived within the drain time and p99 stayed within the budget. */
  sustained: boolean;
}

/** Options of the workload. */
export interface Workload {
  rooms: number;
  clientsPerRoom: number;
  sendersPerRoom: number;
  /** Sockets opened at once while connecting. */
  connectConcurrency: number;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Connected sockets of one system plus the tracker. Message keys are unique for the whole session
 * (sender index × 2^21 + sequence), so a late or repeated frame is recognised in any step.
 */
export class Session {
  private readonly sockets: ClientSocket[][] = [];
  private readonly sent = new Map<number, Sent>();
  private readonly seqs: number[] = [];
  private latencies: number[] = [];
  private step = 0;
  private stepEndsAt = Number.POSITIVE_INFINITY;
  private inWindow = 0;
  /** Deliveries of a message already received by that socket. */
  duplicates = 0;
  /** Deliveries to a socket of another room, or of a message never sent. */
  misrouted = 0;
  /** Deliveries received in total. */
  delivered = 0;

  constructor(
    private readonly client: SystemClient,
    readonly workload: Workload,
  ) {}

  private roomName(index: number): string {
    return `bench-${process.pid}-${index}`;
  }

  /** Opens every socket; rooms fill in parallel up to `connectConcurrency`. */
  async connect(): Promise<void> {
    const { rooms, clientsPerRoom, connectConcurrency } = this.workload;
    const jobs: (() => Promise<void>)[] = [];
    for (let r = 0; r < rooms; r += 1) {
      this.sockets.push(new Array<ClientSocket>(clientsPerRoom));
      for (let c = 0; c < clientsPerRoom; c += 1) {
        jobs.push(async () => {
          const room = this.roomName(r);
          this.sockets[r]![c] = await this.client.connect(room, `u${r}x${c}`, (gotRoom, key, seq) =>
            this.onDelivery(r, c, gotRoom === room, key, seq),
          );
        });
      }
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(connectConcurrency, jobs.length) }, async () => {
        while (next < jobs.length) {
          const job = jobs[next]!;
          next += 1;
          await job();
        }
      }),
    );
    // Let the server finish the join bookkeeping of the last sockets.
    await sleep(300);
  }

  private onDelivery(room: number, client: number, sameRoom: boolean, key: number, seq: number): void {
    const now = performance.now();
    this.delivered += 1;
    const record = this.sent.get(key * 2 ** 21 + seq);
    if (!record || record.room !== room || !sameRoom) {
      this.misrouted += 1;
      return;
    }
    if (record.seen[client]) {
      this.duplicates += 1;
      return;
    }
    record.seen[client] = 1;
    record.got += 1;
    if (record.step === this.step) {
      this.latencies.push(now - record.at);
      if (now <= this.stepEndsAt) this.inWindow += 1;
    }
  }

  /** Deliveries of every message sent so far that have not arrived. */
  missing(step?: number): number {
    let missing = 0;
    for (const record of this.sent.values()) {
      if (step === undefined || record.step === step) missing += this.workload.clientsPerRoom - record.got;
    }
    return missing;
  }

  /**
   * Sends `rate` messages per second spread over every sender for `seconds`, then waits up to
   * `drainMs` for the deliveries. Bounded in time by `seconds + drainMs` plus one tick.
   */
  async paced(rate: number, seconds: number, drainMs: number, p99BudgetMs: number): Promise<StepResult> {
    const { rooms, sendersPerRoom, clientsPerRoom } = this.workload;
    this.step += 1;
    const step = this.step;
    this.latencies = [];
    this.inWindow = 0;
    const senders = rooms * sendersPerRoom;
    while (this.seqs.length < senders) this.seqs.push(0);
    const start = performance.now();
    const end = start + seconds * 1000;
    this.stepEndsAt = end + 50;
    const total = Math.max(1, Math.round(rate * seconds));
    let sent = 0;
    let cursor = 0;
    while (sent < total) {
      const now = performance.now();
      if (now >= end + 1000) break;
      const due = Math.min(total, Math.ceil(((now - start) / 1000) * rate));
      // At most one second's worth per tick, so a stalled loop cannot flood.
      for (let budget = Math.max(1, rate); sent < due && budget > 0; budget -= 1) {
        const sender = cursor % senders;
        cursor += 1;
        const room = sender % rooms;
        const slot = Math.floor(sender / rooms);
        const seq = this.seqs[sender]! + 1;
        this.seqs[sender] = seq;
        this.sent.set(sender * 2 ** 21 + seq, {
          at: performance.now(),
          step,
          room,
          seen: new Uint8Array(clientsPerRoom),
          got: 0,
        });
        this.sockets[room]![slot]!.send(sender, seq);
        sent += 1;
      }
      await sleep(sent < total ? 4 : 0);
    }
    const windowSeconds = Math.max(seconds, (performance.now() - start) / 1000);
    const drainUntil = performance.now() + drainMs;
    while (performance.now() < drainUntil && this.missing(step) > 0) await sleep(20);
    const missingAfterDrain = this.missing(step);
    const sorted = Float64Array.from(this.latencies).sort();
    const p99 = percentile(sorted, 0.99);
    return {
      rate,
      sent,
      expected: sent * clientsPerRoom,
      deliveredInWindow: this.inWindow,
      deliveriesPerSecond: this.inWindow / windowSeconds,
      missingAfterDrain,
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      p99,
      sustained: missingAfterDrain === 0 && sent === total && p99 <= p99BudgetMs,
    };
  }

  /** Waits (bounded) for stragglers, then returns the lost count over the whole session. */
  async lost(waitMs: number): Promise<number> {
    const until = performance.now() + waitMs;
    while (performance.now() < until && this.missing() > 0) await sleep(50);
    return this.missing();
  }

  close(): void {
    for (const room of this.sockets) for (const socket of room) socket?.close();
  }
}
