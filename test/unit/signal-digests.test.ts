import { loadConfig } from '../../lambdas/core/config.js';
import { FanoutService } from '../../lambdas/core/fanout.js';
import { readFrame } from '../../lambdas/core/protocol.js';
import { PushNotifier } from '../../lambdas/core/push.js';
import { createRuntime, type Runtime } from '../../lambdas/core/runtime.js';
import { digestFlush } from '../../lambdas/core/signals.js';
import type { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { BATCH_FRAME_BYTES, type SendFrame, type TypingNoticeFrame } from '../../protocol/index.js';
import { chatMessage } from '../support/messages.js';
import type { RecordingBus } from '../support/recording-bus.js';
import { recordingRuntime, who } from '../support/recording-runtime.js';
import type { RecordingSender } from '../support/recording-sender.js';

// Read marks and presence fold into one digest per room and window; rooms above the member cap
// get no live signals; a user's connects are limited. (Presence folding: signals.test.ts.)

let store: MemoryStore;
let bus: RecordingBus;
let sender: RecordingSender;
let rt: Runtime;

/** The signal frames published so far, parsed. */
const signals = () => bus.signalFrames();
/** Lets the digest window pass (the fan-out takes each room's digest). */
const flush = () => bus.passWindow(store.signals);

beforeEach(() => {
  ({ store, bus, sender, rt } = recordingRuntime());
});

describe('read digests', () => {
  it('publishes the read mark /talk/old moved, and nothing when it did not move', async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
    const stored = await rt.chat.inject('lobby', null, 'message', '"news"');
    await rt.chat.old('lobby', who('ann'));
    await flush();
    await rt.chat.old('lobby', who('ann'));
    await flush();
    expect(signals().filter((frame) => frame.type === 'reads')).toEqual([
      { type: 'reads', room: 'lobby', marks: [{ user: { id: 'ann', username: 'ann' }, id: stored.id }] },
    ]);
  });

  it('folds the marks of many readers in one window into one frame, the newest per member', async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
    const readers = ['ann', 'cat', 'dan', 'eve'];
    let last = '';
    for (let round = 0; round < 3; round += 1) {
      last = (await rt.chat.inject('lobby', null, 'message', `"news ${round}"`)).id;
      for (const reader of readers) await rt.chat.old('lobby', who(reader));
    }
    expect(bus.delayed).toHaveLength(1);
    await flush();
    expect(signals()).toEqual([
      {
        type: 'reads',
        room: 'lobby',
        marks: readers.map((reader) => ({ user: { id: reader, username: reader }, id: last })),
      },
    ]);
  });

  it('loses no mark: one made after the flush took the digest comes in the next window', async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
    await rt.chat.inject('lobby', null, 'message', '"one"');
    await rt.chat.old('lobby', who('ann'));
    await flush();
    const second = await rt.chat.inject('lobby', null, 'message', '"two"');
    await rt.chat.old('lobby', who('ann'));
    expect(bus.delayed).toHaveLength(1);
    await flush();
    expect(signals().at(-1)).toEqual({
      type: 'reads',
      room: 'lobby',
      marks: [{ user: { id: 'ann', username: 'ann' }, id: second.id }],
    });
  });

  it('leaves the room unread and publishes nothing for a reader who is not looking (`mark=0`)', async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
    await rt.chat.join('lobby', who('ann'), 'ann-1');
    await flush();
    const stored = await rt.chat.inject('lobby', null, 'message', '"news"');
    const answer = await rt.chat.old('lobby', who('ann'), { markRead: false });
    await flush();
    expect(answer.results.unread_messages.map((m) => m.id)).toEqual([stored.id]);
    expect(await store.unread('lobby', 'ann')).toBe(1);
    expect(signals().filter((frame) => frame.type === 'reads')).toEqual([]);
  });

  it('publishes no read frame for a page of older messages (`before`)', async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
    const stored = await rt.chat.inject('lobby', null, 'message', '"news"');
    await rt.chat.old('lobby', who('ann'), { before: stored.id });
    expect(signals()).toEqual([]);
  });

  it('sends no read frame for sending: the message itself says its sender read up to it', async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
    await rt.chat.send('lobby', who('ann'), readFrame('{"body":"hi"}', rt.config) as SendFrame);
    expect(bus.delayed).toEqual([]);
    expect(signals()).toEqual([]);
  });
});

describe('fan-out of read digests', () => {
  let fanout: FanoutService;

  beforeEach(async () => {
    fanout = new FanoutService(
      store,
      sender,
      new PushNotifier({}),
      { concurrency: 8, notifiableTypes: [], deliveryLimit: 3 },
      bus,
    );
    await store.connect('lobby', 'old', who('ann'), 60);
    await store.connect('lobby', 'old-batched', who('bob'), 60, { batched: true });
    await store.connect('lobby', 'live', who('cat'), 60, { signals: true });
    await store.connect('lobby', 'live-batched', who('dan'), 60, { signals: true, batched: true });
  });

  it('delivers a digest flush as one reads frame, inside the batch frame a batched connection gets anyway', async () => {
    const [m1, m2] = [chatMessage(1), chatMessage(2)];
    const user = { id: 'eve' };
    await store.signals.fold('lobby', { kind: 'read', userId: 'eve', user, id: m1.id }, 2000, 100);
    await store.signals.fold('lobby', { kind: 'read', userId: 'eve', user, id: m2.id }, 2000, 100);
    await fanout.deliver([m1, digestFlush('lobby'), m2]);
    const reads = { type: 'reads', room: 'lobby', marks: [{ user, id: m2.id }] };
    expect(sender.framesOf('live')).toEqual([m1, reads, m2]);
    expect(sender.framesOf('live-batched')).toEqual([
      { type: 'batch', room: 'lobby', messages: [m1, m2], reads: reads.marks },
    ]);
    expect(sender.framesOf('old-batched')).toEqual([{ type: 'batch', room: 'lobby', messages: [m1, m2] }]);
    expect(sender.framesOf('old')).toEqual([m1, m2]);
  });

  it('splits a digest too big for one frame into several reads frames, each within 32 KB', async () => {
    const readers = Array.from({ length: 300 }, (_, n) => `reader-${n}`);
    for (const userId of readers) {
      const user = { id: userId, username: `${userId} ${'x'.repeat(200)}` };
      await store.signals.fold('lobby', { kind: 'read', userId, user, id: '1700000000001-0' }, 2000, 1000);
    }
    await fanout.deliver([digestFlush('lobby')]);
    const frames = sender.posts.filter((p) => p.connectionId === 'live').map((p) => JSON.stringify(p.data));
    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames) expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(BATCH_FRAME_BYTES);
    const marks = sender
      .framesOf('live')
      .flatMap((frame) => (frame as { marks: { user: { id: string } }[] }).marks);
    expect(marks.map((mark) => mark.user.id).sort()).toEqual([...readers].sort());
  });

  it('sends the digest as a frame of its own when it does not fit in the batch frame', async () => {
    const big = chatMessage(1, { body: 'x'.repeat(BATCH_FRAME_BYTES - 1000) });
    const user = { id: 'eve', note: 'y'.repeat(2000) };
    await store.signals.fold('lobby', { kind: 'read', userId: 'eve', user, id: big.id }, 2000, 100);
    await fanout.deliver([big, digestFlush('lobby')]);
    expect(sender.framesOf('live-batched')).toEqual([
      big,
      { type: 'reads', room: 'lobby', marks: [{ user, id: big.id }] },
    ]);
  });

  it('delivers nothing for a flush whose digest is empty', async () => {
    await fanout.deliver([digestFlush('lobby')]);
    expect(sender.posts).toEqual([]);
  });
});

describe('HIPOCHAT_SIGNALS_MAX_MEMBERS', () => {
  beforeEach(async () => {
    await rt.chat.join('crowd', who('bob'), 'bob-1', { signals: true });
    await flush();
    // bob and 100 more: 101 members, one over the default cap.
    await store.addMembers(
      'crowd',
      Array.from({ length: 100 }, (_, n) => `member-${n}`),
    );
  });

  it('sends no typing, read or presence frames in a room of 101 members', async () => {
    await rt.signals.ephemeral(
      'crowd',
      who('ann'),
      readFrame('{"type":"typing"}', rt.config) as TypingNoticeFrame,
    );
    await rt.chat.inject('crowd', null, 'message', '"news"');
    await rt.chat.old('crowd', who('member-1'));
    await rt.chat.join('crowd', who('cat'), 'cat-1');
    await rt.chat.leave('crowd', 'cat-1');
    await flush();
    expect(bus.delayed).toEqual([]);
    expect(signals()).toEqual([]);
  });

  it('still answers presence with occupancy, and receipts', async () => {
    await rt.chat.inject('crowd', null, 'message', '"news"');
    await rt.chat.old('crowd', who('member-1'));
    expect(await rt.signals.presence('crowd', who('bob'))).toMatchObject({
      online: [{ id: 'bob' }],
      connections: 1,
      members: 101,
    });
    expect((await rt.signals.receipts('crowd', who('bob'))).receipts.map((r) => r.user.id)).toContain(
      'member-1',
    );
  });
});

describe('HIPOCHAT_CONNECT_LIMIT_PER_MINUTE', () => {
  it('answers 429 to a user past the limit, once per connection, with the seconds to wait', async () => {
    const limited = createRuntime(loadConfig({ HIPOCHAT_CONNECT_LIMIT_PER_MINUTE: '3' }), {
      store,
      bus,
      sender,
    });
    for (let n = 0; n < 3; n += 1) await limited.chat.admitConnection('ann');
    const refused = limited.chat.admitConnection('ann');
    await expect(refused).rejects.toMatchObject({ statusCode: 429, retryAfter: expect.any(Number) });
    await expect(refused).rejects.toThrow('connect limit exceeded: 3 connects per minute');
    // Joining rooms is no connect: a connection that follows many rooms counts once.
    for (const room of ['a', 'b', 'c', 'd']) await limited.chat.join(room, who('bob'), `bob-${room}`);
    // Other users have their own budget.
    await expect(limited.chat.admitConnection('bob')).resolves.toBeUndefined();
  });

  it('defaults to 60 a minute, and 0 turns it off', () => {
    expect(loadConfig({}).connectLimitPerMinute).toBe(60);
    expect(loadConfig({ HIPOCHAT_CONNECT_LIMIT_PER_MINUTE: '0' }).connectLimitPerMinute).toBe(0);
  });
});
