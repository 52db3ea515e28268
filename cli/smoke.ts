/** `hipochat smoke`: the post-deploy check, two users and every path a message takes. */
import { randomUUID } from 'node:crypto';
import { type ChatMessage, HipochatClient, type HipochatClientOptions, HipochatHttp } from '@hipochat/client';
import { HipochatServer } from '@hipochat/server';
import { httpOf, type Io, seconds, type Values, wsOf } from './args.js';
import { NodeWebSocket } from './node-websocket.js';

/** Resolves with `promise`, or rejects after `ms` with a message naming `what`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Resolves when `client` has emitted a message or injection matching `match`. */
function received(client: HipochatClient, match: (m: ChatMessage) => boolean): Promise<ChatMessage> {
  return new Promise((resolve) => {
    const check = (message: ChatMessage) => {
      if (!match(message)) return;
      offMessage();
      offInjection();
      resolve(message);
    };
    const offMessage = client.on('message', check);
    const offInjection = client.on('injection', check);
  });
}

/** Runs every step, printing PASS/FAIL for each; resolves with the exit code. */
export async function smoke(values: Values, io: Io): Promise<number> {
  const ws = wsOf(values, io, 'smoke');
  const httpUrl = httpOf(values, io, 'smoke');
  const total = seconds(values, 60);
  const deadline = Date.now() + total;
  const stepMs = () => Math.max(1000, Math.min(15_000, deadline - Date.now()));
  const run = randomUUID().slice(0, 8);
  const room = values.room ?? `smoke-${run}`;
  const tokenA = values['token-a'] ?? `smoke-a-${run}`;
  const tokenB = values['token-b'] ?? `smoke-b-${run}`;
  const serviceKey = values['service-key'] ?? io.env.HIPOCHAT_SERVICE_KEY;
  const options = (token: string): HipochatClientOptions => ({
    url: ws,
    httpUrl,
    room,
    token,
    WebSocket: NodeWebSocket,
    reconnect: false,
    connectTimeoutMs: 10_000,
    requestTimeoutMs: 10_000,
  });
  const a = new HipochatClient(options(tokenA));
  let b = new HipochatClient(options(tokenB));
  const httpB = new HipochatHttp({ httpUrl, token: tokenB, timeoutMs: 10_000 });
  io.out(`smoke test of ${ws} and ${httpUrl}, room ${room}\n`);
  const textAB = `smoke ${run}: a to b`;
  const textBA = `smoke ${run}: b to a`;
  const textAway = `smoke ${run}: while b is away`;
  const steps: [string, () => Promise<string | undefined>][] = [
    [
      'connect user A',
      async () => {
        await a.connect(stepMs());
        return undefined;
      },
    ],
    [
      'connect user B',
      async () => {
        await b.connect(stepMs());
        return undefined;
      },
    ],
    [
      'message A → B',
      async () => {
        const arrives = received(b, (m) => m.body === textAB);
        const ack = await within(a.send(textAB), stepMs(), 'the acknowledgement');
        await within(arrives, stepMs(), 'B to receive it');
        return `id ${ack.id}`;
      },
    ],
    [
      'message B → A',
      async () => {
        const arrives = received(a, (m) => m.body === textBA);
        await within(b.send(textBA), stepMs(), 'the acknowledgement');
        await within(arrives, stepMs(), 'A to receive it');
        return undefined;
      },
    ],
    [
      'history',
      async () => {
        const [result] = await a.http.history([room], 10);
        const bodies = result?.messages.map((m) => m.body) ?? [];
        const expected = [textAB, textBA];
        if (JSON.stringify(bodies) !== JSON.stringify(expected)) {
          throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(bodies)}`);
        }
        return `${bodies.length} messages in order`;
      },
    ],
    [
      'injection',
      async () => {
        const marker = { smoke: run, check: 'injection' };
        const toA = received(
          a,
          (m) => m.type === 'notification' && JSON.stringify(m.body) === JSON.stringify(marker),
        );
        const toB = received(
          b,
          (m) => m.type === 'notification' && JSON.stringify(m.body) === JSON.stringify(marker),
        );
        const stored = serviceKey
          ? await new HipochatServer({ httpUrl, serviceKey, timeoutMs: 10_000 }).inject(
              room,
              'notification',
              marker,
            )
          : await a.http.inject(room, 'notification', marker);
        const delivered = await within(Promise.all([toA, toB]), stepMs(), 'both users to receive it');
        if (!serviceKey) return 'as user A';
        // A server that took the key for a user token would have sent it to the profile endpoint.
        for (const message of [stored, ...delivered]) {
          if (message.author !== null) {
            throw new Error(
              `the backend's injection must have author null, got ${JSON.stringify(message.author)}: the server treated the service key as a user token`,
            );
          }
        }
        return 'as the backend (service key), author null';
      },
    ],
    [
      'unread count',
      async () => {
        b.close();
        // The server records the disconnect asynchronously; leaving settles B's count to 0.
        const settle = Date.now() + 5000;
        while ((await httpB.notification(room)) !== 0 && Date.now() < settle) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await within(a.send(textAway), stepMs(), 'the acknowledgement');
        const unread = await httpB.notification(room);
        if (unread !== 1) throw new Error(`B should have 1 unread message, has ${unread}`);
        const old = await httpB.old(room);
        const unreadBodies = old.results.unread_messages.map((m) => m.body);
        if (JSON.stringify(unreadBodies) !== JSON.stringify([textAway])) {
          throw new Error(
            `B's unread history should be [${JSON.stringify(textAway)}], is ${JSON.stringify(unreadBodies)}`,
          );
        }
        const after = await httpB.notification(room);
        if (after !== 0) throw new Error(`reading should reset B's count to 0, it is ${after}`);
        return '1 unread while away, 0 after reading';
      },
    ],
    [
      'reconnect catches up',
      async () => {
        b = new HipochatClient(options(tokenB));
        const seen: unknown[] = [];
        b.on('message', (m) => seen.push(m.body));
        await b.connect(stepMs());
        if (!seen.includes(textAway) || new Set(seen).size !== seen.length) {
          throw new Error(`expected each message once, got ${JSON.stringify(seen)}`);
        }
        return `${seen.length} messages, none twice`;
      },
    ],
  ];
  let failures = 0;
  for (const [name, step] of steps) {
    const started = Date.now();
    if (Date.now() > deadline) {
      io.out(`FAIL ${name}: skipped, the ${total / 1000} s budget is spent\n`);
      failures++;
      break;
    }
    try {
      const detail = await step();
      io.out(`PASS ${name} (${Date.now() - started} ms)${detail ? `: ${detail}` : ''}\n`);
    } catch (error) {
      failures++;
      io.out(`FAIL ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
      // Without both users connected the later steps cannot say anything useful.
      if (name.startsWith('connect')) break;
    }
  }
  a.close();
  b.close();
  io.out(
    failures === 0
      ? 'smoke test passed\n'
      : `smoke test FAILED (${failures} step${failures === 1 ? '' : 's'})\n`,
  );
  return failures === 0 ? 0 : 1;
}
