/**
 * What live signals cost, measured rather than assumed: a few members of a room on the local
 * gateway, each a real client library reading the room as the demo page does (signals on, every
 * live message of others marks the room read, at most once per read interval), a member typing
 * before each message. The frames every socket received and the read marks it made are counted
 * per member and message; the cost model multiplies them by the room's size.
 *
 * Time runs `scale` times faster than in the model (the room's message interval, the server's
 * digest window and the client's read interval all shrink alike), so a run takes seconds. Three
 * runs: a small room with signals on, the same without signals, and a room of 1,000 members (above
 * `HIPOCHAT_SIGNALS_MAX_MEMBERS`) of which the measured few are online with signals on.
 */
import { randomUUID } from 'node:crypto';
import { HipochatClient, type WebSocketConstructor } from '@hipochat/client';
import WebSocket from 'ws';
import { DEPLOYMENT } from './aws-prices.js';

/** What one member's socket and client cost per message of the room, measured. */
export interface SignalsLoad {
  /** Room members (online or not). */
  members: number;
  /** Members online and measured. */
  online: number;
  /** Whether the clients asked for signals (`signals=1`). */
  signals: boolean;
  messages: number;
  /** Frames one member's socket received per message: messages, batches, acks and signals. */
  framesPerConnectionPerMessage: number;
  /** Of those, the signal frames (typing, presence, reads): 0 without signals. */
  signalFramesPerConnectionPerMessage: number;
  /** Read marks (`GET /talk/old` that moves the mark) one member made per message. */
  marksPerMemberPerMessage: number;
  /** Frames a client sent per message besides the message itself (typing). */
  inboundPerMessage: number;
}

/** The three measured runs. */
export interface SignalsRun {
  /** How much faster than the model's clock the run went. */
  scale: number;
  small: { on: SignalsLoad; off: SignalsLoad };
  /** A room of 1,000 members: above the cap, no live signals whatever the clients ask. */
  capped: { on: SignalsLoad };
}

/** Options of {@link measureSignals}. */
export interface SignalsRunOptions {
  /** `ws://` base of a local gateway started with `HIPOCHAT_READ_DIGEST_MS` = 2000 / `scale`. */
  wsBase: string;
  /** Its service key (the capped room's members are added through `/talk/new-chat-room`). */
  serviceKey: string;
  /** Members online in each run. @default 10 */
  online?: number;
  /** Messages of each run. @default 8 */
  messages?: number;
  /** @default 15 */
  scale?: number;
  log?: (line: string) => void;
}

/** The model's read interval of the page and the server's digest window, in model milliseconds. */
const READ_INTERVAL_MS = 2000;
/** Members of the capped room: the model's big room. */
const CAPPED_MEMBERS = 1000;

/** `HIPOCHAT_READ_DIGEST_MS` for a run at `scale` (the server's floor is 100 ms). */
export function scaledDigestMs(scale: number): number {
  return Math.max(100, Math.round(READ_INTERVAL_MS / scale));
}

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Counts what a client receives and asks while `counting` is on. */
class Meter {
  counting = false;
  frames = 0;
  signalFrames = 0;
  marks = 0;

  /** A `ws` WebSocket class whose frames count. */
  socketClass(): WebSocketConstructor {
    const meter = this;
    return class extends WebSocket {
      constructor(url: string) {
        super(url);
        this.on('message', (data) => meter.frame(data.toString()));
      }
    };
  }

  /** A fetch whose history reads that mark the room read count. */
  fetch(): typeof fetch {
    return (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (this.counting && url.includes('/talk/old/') && !url.includes('before=')) this.marks += 1;
      return fetch(input, init);
    };
  }

  private frame(text: string): void {
    if (!this.counting) return;
    this.frames += 1;
    let type: unknown;
    try {
      type = (JSON.parse(text) as { type?: unknown }).type;
    } catch {
      return;
    }
    if (!['message', 'batch', 'ack', 'pong', undefined].includes(type as string)) this.signalFrames += 1;
  }
}

async function run(
  options: Required<Omit<SignalsRunOptions, 'log'>>,
  signals: boolean,
  members: number,
): Promise<SignalsLoad> {
  const { wsBase, serviceKey, online, messages, scale } = options;
  const httpBase = wsBase.replace(/^ws/, 'http');
  const room = `signals-${randomUUID().slice(0, 8)}`;
  if (members > online) {
    const ids = Array.from({ length: members - online }, (_, n) => `member-${n}`);
    const answer = await fetch(`${httpBase}/talk/new-chat-room/${room}/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${serviceKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ members: ids }),
    });
    if (!answer.ok) throw new Error(`adding members failed: ${answer.status}`);
  }
  const meters = Array.from({ length: online }, () => new Meter());
  const clients = meters.map(
    (meter, n) =>
      new HipochatClient({
        url: wsBase,
        room,
        token: `reader-${n}`,
        signals,
        autoMarkRead: true,
        isReading: () => true,
        readMarkIntervalMs: READ_INTERVAL_MS / scale,
        keepAliveMs: 0,
        reconnect: false,
        WebSocket: meter.socketClass(),
        fetch: meter.fetch(),
      }),
  );
  const window = scaledDigestMs(scale);
  try {
    await Promise.all(clients.map((client) => client.connect(10_000)));
    // The joins of the run's own connects are no part of what a message costs.
    await pause(3 * window);
    for (const meter of meters) meter.counting = true;
    const interval = 60_000 / DEPLOYMENT.roomMessagesPerMinute / scale;
    let typing = 0;
    for (let k = 0; k < messages; k += 1) {
      // Members take turns, as in a conversation; each types before sending.
      const sender = clients[k % online]!;
      if (signals && sender.sendTyping()) typing += 1;
      await sender.send(`message ${k}`);
      await pause(interval);
    }
    // The last digests and read marks.
    await pause(3 * window + READ_INTERVAL_MS / scale);
    for (const meter of meters) meter.counting = false;
    const total = (pick: (meter: Meter) => number) => meters.reduce((sum, meter) => sum + pick(meter), 0);
    const perMemberMessage = online * messages;
    return {
      members: Math.max(members, online),
      online,
      signals,
      messages,
      framesPerConnectionPerMessage: total((m) => m.frames) / perMemberMessage,
      signalFramesPerConnectionPerMessage: total((m) => m.signalFrames) / perMemberMessage,
      marksPerMemberPerMessage: total((m) => m.marks) / perMemberMessage,
      inboundPerMessage: typing / messages,
    };
  } finally {
    for (const client of clients) client.close();
  }
}

/** Runs the three rooms one after the other on the gateway at `wsBase`. */
export async function measureSignals(options: SignalsRunOptions): Promise<SignalsRun> {
  const full = { online: 10, messages: 8, scale: 15, ...options };
  const { log = () => {} } = options;
  log(`  signals: ${full.online} readers, ${full.messages} messages, clock × ${full.scale}`);
  const on = await run(full, true, full.online);
  const off = await run(full, false, full.online);
  const capped = await run(full, true, CAPPED_MEMBERS + full.online);
  return { scale: full.scale, small: { on, off }, capped: { on: capped } };
}
