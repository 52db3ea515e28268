import {
  BadRequestError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
} from '../../lambdas/core/errors.js';
import { type Identity, readFrame } from '../../lambdas/core/protocol.js';
import { pushReceivers } from '../../lambdas/core/push.js';
import type { Runtime } from '../../lambdas/core/runtime.js';
import type { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { NOTHING_READ } from '../../lambdas/core/unread-service.js';
import type { ChatMessage, SendFrame } from '../../protocol/index.js';
import type { RecordingBus } from '../support/recording-bus.js';
import { recordingRuntime, who } from '../support/recording-runtime.js';

const ann = who('ann');
const bob = who('bob');

let store: MemoryStore;
let bus: RecordingBus;
let rt: Runtime;

beforeEach(() => {
  ({ store, bus, rt } = recordingRuntime({ HIPOCHAT_CLOSED_ROOMS: 'vip-*' }));
});

/** Sends `fields` as a socket frame of `identity`, read as `$default` reads it. */
async function say(
  identity: Identity,
  fields: Record<string, unknown>,
  room = 'lobby',
): Promise<ChatMessage> {
  return rt.chat.send(room, identity, readFrame(JSON.stringify(fields), rt.config) as SendFrame);
}

const markUnread = (identity: Identity, body: unknown, room = 'lobby') =>
  rt.unread.markUnread(room, identity, typeof body === 'string' ? body : JSON.stringify(body));

describe('pushReceivers', () => {
  const members = ['ann', 'bob', 'cat', 'dan'];
  const online = new Set(['dan']);
  it.each<[string, 'all' | 'mentions', string[] | undefined, string[]]>([
    ['every offline member but the sender', 'all', undefined, ['bob', 'cat']],
    ['every offline member, mentioned or not', 'all', ['bob'], ['bob', 'cat']],
    ['only the offline members mentioned', 'mentions', ['bob', 'dan', 'ann', 'stranger'], ['bob']],
    ['nobody when no one is mentioned', 'mentions', undefined, []],
  ])('names %s in %s mode', (_what, mode, mentions, expected) => {
    const message = { senderId: 'ann', ...(mentions ? { mentions } : {}) };
    expect(pushReceivers(members, online, message, mode)).toEqual(expected);
  });
});

describe('mentions on a send', () => {
  it('keeps every mention in an open room and delivers them with the message', async () => {
    await store.addMembers('lobby', ['ann', 'bob']);
    const sent = await say(ann, { body: 'hi', mentions: ['bob', 'someone', 'bob', 7] });
    expect(sent.mentions).toEqual(['bob', 'someone']);
    expect(bus.published.at(-1)).toEqual(sent);
  });

  it('drops non-members in a closed room, never refusing the message', async () => {
    await store.addMembers('vip-1', ['ann', 'bob']);
    const kept = await say(ann, { body: 'hi', mentions: ['bob', 'mallory'] }, 'vip-1');
    const none = await say(ann, { body: 'hi', mentions: ['mallory'] }, 'vip-1');
    expect(kept.mentions).toEqual(['bob']);
    expect(none).not.toHaveProperty('mentions');
  });

  it('takes an injection’s mentions from the caller, not from its body', async () => {
    await store.addMembers('vip-2', ['ann', 'bob']);
    const injected = await rt.chat.inject('vip-2', null, 'message', '{"mentions":["ann"]}', undefined, {
      mentions: ['bob', 'mallory'],
    });
    expect(injected.mentions).toEqual(['bob']);
    expect(injected.body).toEqual({ mentions: ['ann'] });
  });
});

describe('GET /talk/notification and /talk/history with mentions', () => {
  it('counts the mentions of the caller since they last read, and resets them on /talk/old', async () => {
    await store.addMembers('lobby', ['ann', 'bob']);
    await say(ann, { body: 'one', mentions: ['bob'] });
    await say(ann, { body: 'two' });
    expect(await rt.unread.notification('lobby', bob)).toEqual({ notification: 2, mentions: 1 });
    const [room] = await rt.chat.history(['lobby'], bob, 1);
    expect(room).toMatchObject({ unread_count: 2, mention_count: 1 });

    await rt.chat.old('lobby', bob);

    expect(await rt.unread.notification('lobby', bob)).toEqual({ notification: 0, mentions: 0 });
  });

  it('refuses a non-member of a closed room', async () => {
    await expect(rt.unread.notification('vip-3', bob)).rejects.toBeInstanceOf(ForbiddenError);
  });
});

describe('POST /talk/unread/{room}/', () => {
  it('moves the read mark back, answers the counts and folds the moved mark for signals connections', async () => {
    await store.connect('lobby', 'c-carol', who('carol'), 60, { signals: true });
    await store.addMembers('lobby', ['bob']);
    const first = await say(ann, { body: 'first' });
    const second = await say(ann, { body: 'second', mentions: ['bob'] });
    await rt.chat.old('lobby', bob);
    await bus.passWindow(store.signals);
    bus.published = [];

    const answer = await markUnread(bob, { id: second.id });

    expect(answer).toEqual({ room: 'lobby', lastRead: first.id, notification: 1, mentions: 1 });
    expect(await rt.unread.notification('lobby', bob)).toEqual({ notification: 1, mentions: 1 });
    const old = await rt.chat.old('lobby', bob, { markRead: false });
    expect(old.results.unread_messages.map((m) => m.id)).toEqual([second.id]);
    await bus.passWindow(store.signals);
    expect(bus.signalFrames()).toEqual([
      { type: 'reads', room: 'lobby', marks: [{ user: bob.profile, id: first.id }] },
    ]);
  });

  it(`announces ${NOTHING_READ} when the first message is marked unread`, async () => {
    await store.connect('lobby', 'c-carol', who('carol'), 60, { signals: true });
    await store.addMembers('lobby', ['bob']);
    const first = await say(ann, { body: 'first' });
    expect(await markUnread(bob, { id: first.id })).toMatchObject({ lastRead: null, notification: 1 });
    await bus.passWindow(store.signals);
    expect(bus.signalFrames().at(-1)).toEqual({
      type: 'reads',
      room: 'lobby',
      marks: [{ user: bob.profile, id: NOTHING_READ }],
    });
  });

  it.each([
    ['no body', ''],
    ['a body that is no JSON', '{"id":'],
    ['no id', {}],
    ['an id that is no message id', { id: 'latest' }],
    ['an id of another type', { id: 17 }],
  ])('answers 400 for %s', async (_what, body) => {
    await expect(markUnread(bob, body)).rejects.toBeInstanceOf(BadRequestError);
  });

  it('answers 404 for an id that is no message of the room', async () => {
    const elsewhere = await say(ann, { body: 'elsewhere' }, 'other');
    await expect(markUnread(bob, { id: elsewhere.id })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a non-member of a closed room', async () => {
    await store.addMembers('vip-4', ['ann']);
    const stored = await say(ann, { body: 'secret' }, 'vip-4');
    await expect(markUnread(bob, { id: stored.id }, 'vip-4')).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('counts against the user’s messages across rooms when that limit is on', async () => {
    ({ store, bus, rt } = recordingRuntime({ HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE: '2' }));
    const stored = await say(ann, { body: 'one' });
    await markUnread(bob, { id: stored.id });
    await markUnread(bob, { id: stored.id });
    await expect(markUnread(bob, { id: stored.id })).rejects.toBeInstanceOf(RateLimitedError);
  });
});
