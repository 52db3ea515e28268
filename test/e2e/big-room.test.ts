import { compareIds } from '../../protocol/index.js';
import { type ChatEndpoints, realServices, startGateway } from '../support/gateway.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';
import { eventually, pause } from '../support/wait.js';

const SOCKETS = 2000;
const SLICE_SIZE = 250;
const MESSAGES = 5;
/** Posts a second the local `@connections` admits: half the room. */
const POST_RPS = 1000;
const POST_FAIL_RATE = 0.01;
/** Delivery invocations the local Invoke API runs at once: fewer than a message's 8 slices. */
const INVOKE_CONCURRENCY = 2;

/** Messages a socket received, in arrival order, batch frames unpacked: every copy counts. */
function received(socket: TestSocket): { id: string; body: unknown }[] {
  return socket.frames.flatMap((frame) => {
    if (frame.type === 'batch') return frame.messages as { id: string; body: unknown }[];
    return frame.type === 'message' ? [frame as { id: string; body: unknown }] : [];
  });
}

const receivedIds = (socket: TestSocket) => received(socket).map((message) => message.id);

async function connectAll(url: string, count: number): Promise<TestSocket[]> {
  const sockets: TestSocket[] = [];
  let next = 0;
  // Bounded parallel handshakes: the gateway runs the authorizer and $connect for each.
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < count) {
        const n = next++;
        const batch = n % 10 === 0 ? '&batch=1' : '';
        sockets.push(await openSocket(`${url}&token=member-${n}${batch}`, 30_000));
      }
    }),
  );
  return sockets;
}

describe('a big room on the local gateway', () => {
  let chat: ChatEndpoints;
  let sockets: TestSocket[] = [];

  beforeAll(async () => {
    chat = await startGateway({
      ...realServices,
      HIPOCHAT_FANOUT_SLICE_SIZE: String(SLICE_SIZE),
      // AWS's limits: the account throttle, internal errors, and Lambda's concurrency.
      HIPOCHAT_LOCAL_POST_RPS: String(POST_RPS),
      HIPOCHAT_LOCAL_POST_FAIL_RATE: String(POST_FAIL_RATE),
      HIPOCHAT_LOCAL_INVOKE_CONCURRENCY: String(INVOKE_CONCURRENCY),
      HIPOCHAT_RATE_LIMIT_PER_MINUTE: '10000',
      // The delivery function says "fan-out slice done" at debug level, once per slice.
      HIPOCHAT_LOG_LEVEL: 'debug',
    });
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.close()));
    await chat?.stop();
  });

  it(`delivers every message to each of ${SOCKETS} sockets exactly once and in order, in slices of ${SLICE_SIZE}, under ${POST_RPS} posts/s, ${POST_FAIL_RATE * 100}% failed posts and ${INVOKE_CONCURRENCY} invocations at once`, async () => {
    // Prepare
    const room = uniqueRoom('big');
    const sender = await openSocket(`${chat.wsUrl}/?room=${room}&token=sender`);
    sockets = [sender, ...(await connectAll(`${chat.wsUrl}/?room=${room}`, SOCKETS - 1))];

    // Act: one message after the other, each acknowledged before the next.
    for (let n = 0; n < MESSAGES; n += 1) {
      sender.send({ type: 'message', body: `big-${n}`, clientId: `big-${n}` });
      await sender.next((frame) => frame.type === 'ack' && frame.clientId === `big-${n}`, 30_000);
    }
    await eventually(
      () => sockets.every((socket) => receivedIds(socket).length >= MESSAGES),
      `${MESSAGES} messages at each of ${SOCKETS} sockets`,
      120_000,
    );
    // A retry that went where the message already was would show up late: give it time to.
    await pause(2000);

    // Assess: raw frames, no dedupe; the limits were in force.
    expect(chat.output()).toContain(
      `${POST_RPS} posts/s; ${POST_FAIL_RATE * 100}% of posts fail; ${INVOKE_CONCURRENCY} invocations at once`,
    );
    const expected = receivedIds(sender);
    expect(expected).toHaveLength(MESSAGES);
    expect([...expected].sort(compareIds)).toEqual(expected);
    const wrong = sockets.filter((socket) => receivedIds(socket).join() !== expected.join());
    expect(wrong).toHaveLength(0);
    expect(received(sender).map((message) => message.body)).toEqual(
      Array.from({ length: MESSAGES }, (_, n) => `big-${n}`),
    );
    // The room went out in slices (at least one invocation per slice of one batch).
    const slices = chat.output().match(/fan-out slice done/g) ?? [];
    expect(slices.length).toBeGreaterThanOrEqual(SOCKETS / SLICE_SIZE);
  }, 240_000);
});
