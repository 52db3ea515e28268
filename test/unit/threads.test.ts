import { readFrame } from '../../lambdas/core/protocol.js';
import type { Runtime } from '../../lambdas/core/runtime.js';
import { isSignal } from '../../lambdas/core/signals.js';
import type { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { type ChatMessage, MAX_ANSWER_BYTES, type SendFrame } from '../../protocol/index.js';
import type { RecordingBus } from '../support/recording-bus.js';
import { recordingRuntime, who } from '../support/recording-runtime.js';

const ann = who('ann');
const bob = who('bob');

let store: MemoryStore;
let bus: RecordingBus;
let rt: Runtime;

beforeEach(() => {
  ({ store, bus, rt } = recordingRuntime({ HIPOCHAT_SERVICE_KEY: 'service-key' }));
});

/** Sends a frame's fields as `$default` reads them; answers the stored message. */
function say(fields: Record<string, unknown>, identity = ann, room = 'lobby'): Promise<ChatMessage> {
  return rt.chat.send(room, identity, readFrame(JSON.stringify(fields), rt.config) as SendFrame);
}

/** What the bus carried, in order: message bodies and the signal frames' types. */
const carried = () =>
  bus.published.map((m) => (isSignal(m) ? (JSON.parse(m.signal) as { type: string }).type : m.body));

describe('a reply over the socket', () => {
  it('publishes the reply, then the replies frame of its root', async () => {
    const root = await say({ body: 'root' });
    const reply = await say({ body: 'reply', parentId: root.id }, bob);
    expect(reply).toMatchObject({ parentId: root.id, senderId: 'bob' });
    expect(carried()).toEqual(['root', 'reply', 'replies']);
    expect(bus.signalFrames()).toEqual([
      { type: 'replies', room: 'lobby', id: root.id, count: 1, lastId: reply.id },
    ]);
  });

  it('keeps the replies summary the server’s: a client cannot set one', async () => {
    const plain = await say({ body: 'plain', replies: { count: 9, lastId: '1-0' } });
    expect(plain).not.toHaveProperty('replies');
    expect((await rt.chat.old('lobby', bob)).oldy[0]).not.toHaveProperty('replies');
  });

  it('publishes nothing more for a retried reply (same clientId)', async () => {
    const root = await say({ body: 'root' });
    await say({ body: 'reply', parentId: root.id, clientId: 'c1' });
    await say({ body: 'reply', parentId: root.id, clientId: 'c1' });
    expect(carried()).toEqual(['root', 'reply', 'replies']);
  });

  it('takes an unpublished reply back from its root', async () => {
    const root = await say({ body: 'root' });
    const kept = await say({ body: 'kept', parentId: root.id });
    bus.down = true;
    await expect(say({ body: 'lost', parentId: root.id })).rejects.toThrow('broker unavailable');
    bus.down = false;
    const thread = await rt.threads.thread('lobby', bob, root.id);
    expect(thread.root.replies).toEqual({ count: 1, lastId: kept.id });
    expect(thread.replies.map((m) => m.body)).toEqual(['kept']);
  });

  it('refuses a reply to a reply, publishing nothing', async () => {
    const root = await say({ body: 'root' });
    const reply = await say({ body: 'reply', parentId: root.id });
    await expect(say({ body: 'deeper', parentId: reply.id })).rejects.toMatchObject({
      statusCode: 400,
      message: 'parentId must name a message of this room that is not a reply',
    });
    expect(carried()).toEqual(['root', 'reply', 'replies']);
  });
});

describe('POST /talk/item with parentId', () => {
  it('injects a reply from the backend and announces it', async () => {
    const root = await say({ body: 'root' });
    const reply = await rt.chat.inject('lobby', null, undefined, '{"n":1}', undefined, { parentId: root.id });
    expect(reply).toMatchObject({ parentId: root.id, body: { n: 1 } });
    expect(bus.signalFrames()).toEqual([expect.objectContaining({ type: 'replies', id: root.id, count: 1 })]);
  });

  it.each(['', 'nope', '1700000000000'])('refuses the malformed parentId %j with a 400', async (parentId) => {
    await expect(
      rt.chat.inject('lobby', null, undefined, '1', undefined, { parentId }),
    ).rejects.toMatchObject({
      statusCode: 400,
      message: 'parentId must be a message id such as 1700000000000-0',
    });
    expect(bus.published).toEqual([]);
  });
});

describe('ThreadsService.thread', () => {
  it('keeps the answer within the budget and says more, newest replies kept', async () => {
    const root = await say({ body: 'root' });
    // Backend injections (no rate limit by default), 400 x 15 KB: more than one answer holds.
    const big = 'x'.repeat(15_000);
    for (let i = 0; i < 400; i += 1) {
      await rt.chat.inject('lobby', null, undefined, JSON.stringify(`${i}${big}`), undefined, {
        parentId: root.id,
      });
    }
    const answer = await rt.threads.thread('lobby', ann, root.id);
    expect(JSON.stringify(JSON.stringify(answer)).length).toBeLessThan(MAX_ANSWER_BYTES);
    expect(answer.page.more).toBe(true);
    expect(answer.replies.length).toBeGreaterThan(10);
    expect(answer.replies.at(-1)!.body).toBe(`399${big}`);
    expect(answer.page.before).toBe(answer.replies[0]!.id);
  });

  it.each([
    ['a malformed root id', 'nope', {}, 'rootId must be a message id such as 1700000000000-0'],
    ['a malformed before', '1-0', { before: 'x' }, 'before must be a message id such as 1700000000000-0'],
    ['a limit of 0', '1-0', { limit: 0 }, 'limit must be an integer from 1 to 1000'],
    ['a limit that is no number', '1-0', { limit: Number.NaN }, 'limit must be an integer from 1 to 1000'],
  ])('refuses %s with a 400', async (_what, rootId, request, message) => {
    await expect(rt.threads.thread('lobby', ann, rootId, request)).rejects.toMatchObject({
      statusCode: 400,
      message,
    });
  });

  it('marks the thread read with the newest page only', async () => {
    const root = await say({ body: 'root' });
    const first = await say({ body: 'r1', parentId: root.id }, bob);
    await say({ body: 'r2', parentId: root.id }, bob);
    await rt.threads.thread('lobby', ann, root.id, { before: first.id });
    expect((await rt.threads.threads('lobby', ann)).threads[0]!.unread).toBe(2);
    await rt.threads.thread('lobby', ann, root.id, { limit: 1 });
    expect((await rt.threads.threads('lobby', ann)).threads[0]!.unread).toBe(0);
  });
});

describe('ThreadsService.threads', () => {
  it('answers at most 50 threads by default', async () => {
    for (let i = 0; i < 55; i += 1) {
      const root = await say({ body: `root ${i}` });
      await say({ body: 'r', parentId: root.id }, bob);
    }
    const { threads } = await rt.threads.threads('lobby', ann);
    expect(threads).toHaveLength(50);
    expect(threads[0]!.root.body).toBe('root 54');
    expect(store.kind).toBe('memory');
  });

  it.each([0, 201, 1.5, Number.NaN])('refuses a limit of %p with a 400', async (limit) => {
    await expect(rt.threads.threads('lobby', ann, limit)).rejects.toMatchObject({
      statusCode: 400,
      message: 'limit must be an integer from 1 to 200',
    });
  });

  it('refuses a non-member of a closed room', async () => {
    ({ store, bus, rt } = recordingRuntime({ HIPOCHAT_CLOSED_ROOMS: 'club-*' }));
    await expect(rt.threads.threads('club-1', ann)).rejects.toMatchObject({ statusCode: 403 });
    await expect(rt.threads.thread('club-1', ann, '1-0')).rejects.toMatchObject({ statusCode: 403 });
  });
});
