import { loadConfig } from '../../lambdas/core/config.js';
import { FanoutService } from '../../lambdas/core/fanout.js';
import { deliverInSlices, type SliceInvoker } from '../../lambdas/core/fanout-slices.js';
import { type Identity, readFrame } from '../../lambdas/core/protocol.js';
import { PushNotifier } from '../../lambdas/core/push.js';
import type { Runtime } from '../../lambdas/core/runtime.js';
import { isSignal, signalEnvelope } from '../../lambdas/core/signals.js';
import type { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import type { ChatMessage, SendFrame, TypingNoticeFrame } from '../../protocol/index.js';
import { chatMessage } from '../support/messages.js';
import type { RecordingBus } from '../support/recording-bus.js';
import { recordingRuntime, who } from '../support/recording-runtime.js';
import type { RecordingSender } from '../support/recording-sender.js';

let store: MemoryStore;
let bus: RecordingBus;
let sender: RecordingSender;
let rt: Runtime;

/** The signal frames published so far, parsed. */
const signals = () => bus.signalFrames();
/** Lets the digest window pass (the fan-out takes each room's digest). */
const flush = () => bus.passWindow(store.signals);
/** The stored messages published so far. */
const messages = () => bus.published.filter((message) => !isSignal(message));

/** A typing frame from `identity`, read as `$default` reads it. */
async function typing(room: string, identity: Identity, text: string) {
  return rt.signals.ephemeral(room, identity, readFrame(text, rt.config) as TypingNoticeFrame);
}

/** A message frame from `identity`, read as `$default` reads it. */
async function say(room: string, identity: Identity, text: string) {
  return rt.chat.send(room, identity, readFrame(text, rt.config) as SendFrame);
}

beforeEach(() => {
  ({ store, bus, sender, rt } = recordingRuntime({
    HIPOCHAT_SERVICE_KEY: 'service-key',
    HIPOCHAT_CLOSED_ROOMS: 'vip-*',
    HIPOCHAT_RATE_LIMIT_PER_MINUTE: '1',
  }));
});

describe('presence join and leave', () => {
  it("publishes a join when a user's first connection opens, one window later", async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
    await rt.chat.join('lobby', who('ann'), 'ann-1', { signals: true });
    expect(signals()).toEqual([]);
    expect(bus.delayed.map((d) => d.delayMs)).toEqual([2000]);
    await flush();
    expect(signals()).toEqual([
      { type: 'presence', event: 'join', room: 'lobby', user: { id: 'ann', username: 'ann' } },
    ]);
  });

  it('publishes nothing for a user who joins and leaves within one window', async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
    await flush();
    for (let cycle = 0; cycle < 5; cycle += 1) {
      await rt.chat.join('lobby', who('ann'), `ann-${cycle}`);
      await rt.chat.leave('lobby', `ann-${cycle}`);
    }
    // One flush scheduled for the whole window, and it finds nothing to say.
    expect(bus.delayed).toHaveLength(1);
    await flush();
    expect(signals()).toEqual([]);
  });

  it('publishes nothing in a room where no connection asked for signals (every old client)', async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1');
    await rt.chat.join('lobby', who('ann'), 'ann-1');
    await rt.chat.leave('lobby', 'ann-1');
    expect(bus.published).toEqual([]);
  });

  it('publishes no join for a second tab and no leave when one of two tabs closes', async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
    await rt.chat.join('lobby', who('ann'), 'ann-1');
    await rt.chat.join('lobby', who('ann'), 'ann-2');
    await rt.chat.leave('lobby', 'ann-1');
    await flush();
    expect(signals().map((frame) => frame.event)).toEqual(['join']);
    await rt.chat.leave('lobby', 'ann-2');
    await flush();
    expect(signals().map((frame) => frame.event)).toEqual(['join', 'leave']);
  });

  it('publishes the leave and the read mark it moved in the next digest', async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
    await rt.chat.join('lobby', who('ann'), 'ann-1');
    await flush();
    const stored = await rt.chat.inject('lobby', null, 'message', '"news"');
    await new Promise((done) => setTimeout(done, 5));
    await rt.chat.leave('lobby', 'ann-1');
    await flush();
    const user = { id: 'ann', username: 'ann' };
    expect(signals().slice(1)).toEqual([
      { type: 'presence', event: 'leave', room: 'lobby', user },
      { type: 'reads', room: 'lobby', marks: [{ user, id: stored.id }] },
    ]);
  });

  it('publishes a leave for an unsubscribed member with open tabs, once', async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
    await rt.chat.join('lobby', who('ann'), 'ann-1');
    await rt.chat.join('lobby', who('ann'), 'ann-2');
    await flush();
    await rt.chat.removeMembers('lobby', { members: ['ann'] });
    await flush();
    expect(signals().map((frame) => frame.event)).toEqual(['join', 'leave']);
    expect(sender.closed.sort()).toEqual(['ann-1', 'ann-2']);
  });

  it('keeps a publish failure from failing the connect (presence is best effort)', async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
    bus.down = true;
    await expect(rt.chat.join('lobby', who('ann'), 'ann-1')).resolves.toBeUndefined();
    expect(await store.connections('lobby')).toHaveLength(2);
  });
});

describe('ephemeral frames (typing)', () => {
  beforeEach(async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
  });

  it('delivers typing with author and senderId, stores nothing and counts no unread', async () => {
    await rt.chat.join('lobby', who('cat'), 'cat-1');
    expect(await typing('lobby', who('ann'), '{"type":"typing","clientId":"t-1"}')).toEqual({
      clientId: 't-1',
    });
    expect(signals().filter((frame) => frame.type === 'typing')).toEqual([
      {
        type: 'typing',
        room: 'lobby',
        author: { id: 'ann', username: 'ann' },
        senderId: 'ann',
        clientId: 't-1',
        timestamp: expect.any(Number),
      },
    ]);
    expect(messages()).toEqual([]);
    expect((await store.latest('lobby', 'cat', 10)).messages).toEqual([]);
    expect(await store.unread('lobby', 'cat')).toBe(0);
  });

  it('carries an optional body', async () => {
    await typing('lobby', who('ann'), '{"type":"typing","body":{"draft":true}}');
    expect(signals()[0]).toMatchObject({ type: 'typing', body: { draft: true } });
  });

  it('drops a second ephemeral frame of a user within 2 s silently, yet acks it', async () => {
    await typing('lobby', who('ann'), '{"type":"typing"}');
    expect(await typing('lobby', who('ann'), '{"type":"typing","clientId":"t-2"}')).toEqual({
      clientId: 't-2',
    });
    await typing('lobby', who('cat'), '{"type":"typing"}');
    expect(signals().map((frame) => frame.senderId)).toEqual(['ann', 'cat']);
  });

  it('does not consume the message rate limit', async () => {
    await typing('lobby', who('ann'), '{"type":"typing"}');
    await expect(say('lobby', who('ann'), '{"body":"one a minute"}')).resolves.toMatchObject({
      body: 'one a minute',
    });
  });

  it.each([
    ['a message', '{"type":"message","body":"hi"}'],
    ['a message about typing', '{"body":"I was typing"}'],
  ])('leaves %s to the message path', (_what, frame) => {
    expect(readFrame(frame, rt.config).kind).toBe('send');
  });

  it.each([
    ['a clientId that is no string', '{"type":"typing","clientId":7}', 'clientId must be'],
    ['a body nested too deep', `{"type":"typing","body":${'['.repeat(40)}${']'.repeat(40)}}`, 'nest'],
  ])('refuses %s', async (_what, frame, error) => {
    await expect(typing('lobby', who('ann'), frame)).rejects.toThrow(error);
  });

  it('refuses a non-member in a closed room', async () => {
    await expect(typing('vip-lounge', who('ann'), '{"type":"typing"}')).rejects.toThrow(
      'closed to non-members',
    );
  });
});

describe('GET /talk/presence and /talk/receipts (SignalsService)', () => {
  it('lists each online user once, and announces the leave of one whose connection expired', async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
    await rt.chat.join('lobby', who('ann'), 'ann-1');
    await rt.chat.join('lobby', who('ann'), 'ann-2');
    await store.connect('lobby', 'cat-1', who('cat'), 0.05);
    await new Promise((done) => setTimeout(done, 80));
    await flush();
    expect(await rt.signals.presence('lobby', who('ann'))).toEqual({
      room: 'lobby',
      online: [
        { id: 'ann', username: 'ann' },
        { id: 'bob', username: 'bob' },
      ],
      // Occupancy: ann's two tabs and bob's, and the three members (cat's expired connection is gone).
      connections: 3,
      members: 3,
    });
    await flush();
    expect(signals().at(-1)).toMatchObject({ type: 'presence', event: 'leave', user: { id: 'cat' } });
  });

  it("lists members' read marks, the most recent first, a profile the room never saw as its id", async () => {
    await rt.chat.join('lobby', who('ann'), 'ann-1');
    const first = await say('lobby', who('ann'), '{"body":"one"}');
    await store.addMembers('lobby', ['dan']);
    await store.page('lobby', 'dan', { limit: 1, markRead: true });
    expect(await rt.signals.receipts('lobby', who('ann'))).toEqual({
      room: 'lobby',
      receipts: [
        { user: { id: 'ann', username: 'ann' }, lastRead: first.id },
        { user: { id: 'dan' }, lastRead: first.id },
      ],
      next: null,
    });
  });

  it('pages read receipts with limit and after, each member once', async () => {
    const members = Array.from({ length: 25 }, (_, n) => `m${n}`);
    await store.addMembers('lobby', members);
    await say('lobby', who('m0'), '{"body":"one"}');
    for (const member of members) await store.page('lobby', member, { limit: 1, markRead: true });
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const page = await rt.signals.receipts('lobby', who('m0'), { limit: 10, after });
      expect(page.receipts.length).toBeLessThanOrEqual(10);
      seen.push(...page.receipts.map((receipt) => String(receipt.user.id)));
      after = page.next ?? undefined;
    } while (after !== undefined);
    expect(seen.sort()).toEqual([...members].sort());
  });

  it.each([
    ['a limit of 0', { limit: 0 }, 'limit must be an integer from 1 to 1000'],
    ['a limit over 1000', { limit: 1001 }, 'limit must be an integer from 1 to 1000'],
    ['an after no page gave', { after: 'nope' }, 'after must be the "next" of a previous receipts answer'],
  ])('refuses receipts with %s', async (_, query, error) => {
    await expect(rt.signals.receipts('lobby', who('ann'), query)).rejects.toThrow(error);
  });

  it('refuses both to a non-member of a closed room', async () => {
    await expect(rt.signals.presence('vip-x', who('ann'))).rejects.toThrow('closed to non-members');
    await expect(rt.signals.receipts('vip-x', who('ann'))).rejects.toThrow('closed to non-members');
  });
});

describe('POST /talk/broadcast (SignalsService)', () => {
  it('stores and publishes one message per room, each room once, as the backend', async () => {
    const answer = await rt.signals.broadcast('notification', '{"rooms":["a","b","a"],"body":{"n":1}}');
    expect(messages().map((m) => [m.room, m.type, m.body, m.author])).toEqual([
      ['a', 'notification', { n: 1 }, null],
      ['b', 'notification', { n: 1 }, null],
    ]);
    // Where each went, never the bodies: a large body times 100 rooms would not fit one answer.
    expect(answer.messages).toEqual(messages().map((m) => ({ room: m.room, id: m.id })));
  });

  it('stores nothing twice for a retried call with the same Idempotency-Key, in every room', async () => {
    const body = '{"rooms":["a","b"],"body":1}';
    const first = await rt.signals.broadcast(undefined, body, 'call-1');
    const again = await rt.signals.broadcast(undefined, body, 'call-1');
    expect(again).toEqual(first);
    expect(messages()).toHaveLength(2);
  });

  it.each([
    ['no rooms', '{"rooms":[],"body":1}', 'rooms must name 1 to 100'],
    [
      '101 rooms',
      JSON.stringify({ rooms: Array.from({ length: 101 }, (_, n) => `r${n}`), body: 1 }),
      '1 to 100',
    ],
    ['a bad room name', '{"rooms":["a b"],"body":1}', 'invalid room name'],
    ['no body', '{"rooms":["a"]}', 'body must be'],
    ['an unknown type', '{"rooms":["a"],"body":1}', 'type must be one of'],
    [
      'a body past the depth limit',
      `{"rooms":["a"],"body":${'['.repeat(33)}${']'.repeat(33)}}`,
      'message too deeply nested: the limit is 32 levels',
    ],
  ])('refuses %s', async (what, body, error) => {
    await expect(
      rt.signals.broadcast(what === 'an unknown type' ? 'typing' : undefined, body),
    ).rejects.toThrow(error);
    expect(bus.published).toEqual([]);
  });
});

describe('POST /talk/disconnect/{user} (SignalsService)', () => {
  it('closes and forgets every connection of the user in every room', async () => {
    await rt.chat.join('lobby', who('bob'), 'bob-1', { signals: true });
    await rt.chat.join('lobby', who('ann'), 'ann-1');
    await rt.chat.join('lobby', who('ann'), 'ann-2');
    await rt.chat.join('kitchen', who('ann'), 'ann-3');
    await flush();
    expect(await rt.signals.disconnectUser('ann')).toEqual({ user: 'ann', disconnected: 3 });
    await flush();
    expect(sender.closed.sort()).toEqual(['ann-1', 'ann-2', 'ann-3']);
    expect((await store.connections('lobby')).map((c) => c.userId)).toEqual(['bob']);
    expect(await store.connections('kitchen')).toEqual([]);
    expect(signals().map((frame) => frame.event)).toEqual(['join', 'leave']);
    expect(await rt.signals.disconnectUser('ann')).toEqual({ user: 'ann', disconnected: 0 });
  });
});

describe('fan-out of signals', () => {
  let fanout: FanoutService;
  const envelope = (frame: object, except?: string) => signalEnvelope('lobby', JSON.stringify(frame), except);
  const join = { type: 'presence', event: 'join', room: 'lobby', user: { id: 'eve' } };

  beforeEach(async () => {
    jest.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(null, { status: 204 }));
    fanout = new FanoutService(
      store,
      sender,
      new PushNotifier({ url: 'https://push.example.com/hook' }),
      { concurrency: 8, notifiableTypes: ['message', '~signal'], deliveryLimit: 3 },
      bus,
    );
    await store.connect('lobby', 'old', who('ann'), 60);
    await store.connect('lobby', 'old-batched', who('bob'), 60, { batched: true });
    await store.connect('lobby', 'live', who('cat'), 60, { signals: true });
    await store.connect('lobby', 'live-batched', who('dan'), 60, { signals: true, batched: true });
  });

  afterEach(() => jest.restoreAllMocks());

  it('posts a signal to signals connections only, not to the one it excepts, and never pushes it', async () => {
    await fanout.deliver([envelope(join, 'live-batched')]);
    expect(sender.framesOf('live')).toEqual([join]);
    expect(sender.framesOf('live-batched')).toEqual([]);
    expect(sender.framesOf('old')).toEqual([]);
    expect(sender.framesOf('old-batched')).toEqual([]);
    expect(globalThis.fetch).not.toHaveBeenCalled();
  });

  it('keeps the frames of old connections exactly as without signals, and orders the others', async () => {
    const [m1, m2, m3] = [chatMessage(1), chatMessage(2), chatMessage(3)];
    const read = { type: 'read', room: 'lobby', user: { id: 'eve' }, id: m2.id };
    await fanout.deliver([m1, m2, envelope(read), m3] as ChatMessage[]);
    expect(sender.framesOf('old')).toEqual([m1, m2, m3]);
    expect(sender.framesOf('old-batched')).toEqual([
      { type: 'batch', room: 'lobby', messages: [m1, m2, m3] },
    ]);
    expect(sender.framesOf('live')).toEqual([m1, m2, read, m3]);
    // A batch holds messages only: the signal splits it, in order.
    expect(sender.framesOf('live-batched')).toEqual([
      { type: 'batch', room: 'lobby', messages: [m1, m2] },
      read,
      m3,
    ]);
  });

  it('announces the leave of a user whose last connection answered 410', async () => {
    sender.gone.add('live');
    await fanout.deliver([chatMessage(1)]);
    await flush();
    expect(signals()).toEqual([
      { type: 'presence', event: 'leave', room: 'lobby', user: { id: 'cat', username: 'cat' } },
    ]);
  });

  it("brings the leaves of a big room's slices back to the parent, which announces them", async () => {
    sender.gone.add('live');
    const invoker: SliceInvoker = { deliver: (request) => fanout.deliverSlice(request) };
    const outcome = await deliverInSlices(
      invoker,
      'lobby',
      [chatMessage(1)],
      await store.connections('lobby'),
      2,
    );
    expect(outcome.departed.map((departure) => departure.userId)).toEqual(['cat']);
    const sliced = new FanoutService(
      store,
      sender,
      new PushNotifier({}),
      { concurrency: 8, notifiableTypes: [], deliveryLimit: 3, slicing: { size: 1, invoker } },
      bus,
    );
    // Someone still listening hears of the leave.
    await store.connect('lobby', 'watch', who('eve'), 60, { signals: true });
    sender.gone.add('live-batched');
    await sliced.deliver([chatMessage(2)]);
    await flush();
    expect(signals().map((frame) => (frame.user as { id: string }).id)).toEqual(['dan']);
  });
});

describe('HIPOCHAT_EPHEMERAL_TYPES', () => {
  it('defaults to typing', () => {
    expect(loadConfig({}).ephemeralTypes).toEqual(['typing']);
  });

  it('turns ephemeral frames off when set empty', () => {
    expect(loadConfig({ HIPOCHAT_EPHEMERAL_TYPES: '' }).ephemeralTypes).toEqual([]);
  });

  it.each([
    ['a message type', { HIPOCHAT_EPHEMERAL_TYPES: 'typing,notification' }],
    ['the keep-alive', { HIPOCHAT_EPHEMERAL_TYPES: 'ping' }],
    ['a server frame type', { HIPOCHAT_EPHEMERAL_TYPES: 'presence' }],
  ])('refuses %s at start-up, naming the variable', (_what, env) => {
    expect(() => loadConfig(env)).toThrow('HIPOCHAT_EPHEMERAL_TYPES must not name a message type');
  });
});
