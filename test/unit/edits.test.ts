import { loadConfig } from '../../lambdas/core/config.js';
import type { ChangeFrame } from '../../lambdas/core/edits-service.js';
import { type Identity, readFrame } from '../../lambdas/core/protocol.js';
import { createRuntime, type Runtime } from '../../lambdas/core/runtime.js';
import { isSignal } from '../../lambdas/core/signals.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import {
  type ChatMessage,
  isValidEmoji,
  MAX_REACTIONS_PER_MESSAGE,
  type SendFrame,
} from '../../protocol/index.js';
import { TWENTY_EMOJI, UNREADABLE_EMOJI } from '../support/messages.js';
import { RecordingBus } from '../support/recording-bus.js';
import { who } from '../support/recording-runtime.js';
import { RecordingSender } from '../support/recording-sender.js';

const ann = who('ann');
const bob = who('bob');

let store: MemoryStore;
let bus: RecordingBus;
let rt: Runtime;

/** The change frames published so far, parsed. */
const frames = () =>
  bus.published.filter(isSignal).map((envelope) => JSON.parse(envelope.signal) as Record<string, unknown>);

function runtimeWith(env: Record<string, string> = {}): Runtime {
  return createRuntime(loadConfig({ HIPOCHAT_SERVICE_KEY: 'service-key', ...env }), {
    store,
    bus,
    sender: new RecordingSender(),
  });
}

/** Reads a frame as `$default` does: the typed frame, or the refusal thrown. */
const typed = (fields: Record<string, unknown>) => readFrame(JSON.stringify(fields), rt.config);

/** Sends a message as `identity` and answers it. */
async function say(identity: Identity, body: unknown, room = 'lobby'): Promise<ChatMessage> {
  return rt.chat.send(room, identity, typed({ body }) as SendFrame);
}

/** Sends a change frame (`edit`, `delete`, `react`) as `identity`. */
async function change(identity: Identity, fields: Record<string, unknown>, room = 'lobby') {
  return rt.edits.frame(room, identity, typed(fields) as ChangeFrame);
}

const frame = (fields: Record<string, unknown>) => JSON.stringify(fields);

async function history(room = 'lobby'): Promise<ChatMessage[]> {
  return (await rt.chat.old(room, bob)).oldy;
}

beforeEach(() => {
  store = new MemoryStore();
  bus = new RecordingBus();
  rt = runtimeWith();
});

describe('edit and delete over the socket', () => {
  it('lets the author edit: history keeps id and place with the new body and an edit mark', async () => {
    const first = await say(ann, 'helo');
    const second = await say(bob, 'hi');
    const outcome = await change(ann, { type: 'edit', id: first.id, body: 'hello', clientId: 'e1' });
    expect(outcome).toEqual({ id: first.id, clientId: 'e1' });
    const [edited, other] = await history();
    expect(edited).toMatchObject({ id: first.id, body: 'hello', edited: { by: 'ann' } });
    expect(typeof edited!.edited!.at).toBe('number');
    expect(other!.id).toBe(second.id);
  });

  it.each([
    ['edit', { body: 'mine now' }, 'you can only edit your own messages'],
    ['delete', {}, 'you can only delete your own messages'],
  ])('refuses to %s a message of someone else and changes nothing', async (type, extra, error) => {
    const message = await say(ann, 'original');
    await expect(change(bob, { type, id: message.id, ...extra })).rejects.toThrow(error);
    expect((await history())[0]).toMatchObject({ body: 'original' });
    expect(frames()).toEqual([]);
  });

  it('leaves injections of the backend to the backend', async () => {
    const injected = await rt.chat.inject('lobby', null, 'message', '"notice"');
    await expect(change(ann, { type: 'delete', id: injected.id })).rejects.toThrow(
      'you can only delete your own messages',
    );
    const tombstone = await rt.edits.backendDelete('lobby', frame({ id: injected.id }));
    expect(tombstone).toMatchObject({ id: injected.id, deleted: true });
  });

  it('turns a deleted message into a tombstone that never shows the old body', async () => {
    const message = await say(ann, 'secret');
    await change(ann, { type: 'delete', id: message.id });
    const [tombstone] = await history();
    expect(tombstone).toMatchObject({ id: message.id, deleted: true, room: 'lobby' });
    expect(tombstone).not.toHaveProperty('body');
    expect(JSON.stringify(tombstone)).not.toContain('secret');
  });

  it('answers a retried send of a deleted message with its tombstone, still acked by clientId', async () => {
    const sent = typed({ body: 'oops', clientId: 'm1' }) as SendFrame;
    const message = await rt.chat.send('lobby', ann, sent);
    await change(ann, { type: 'delete', id: message.id });
    const retried = await rt.chat.send('lobby', ann, sent);
    expect(retried).toMatchObject({ id: message.id, clientId: 'm1', deleted: true });
    expect(retried).not.toHaveProperty('body');
  });

  it('refuses an edit past HIPOCHAT_EDIT_WINDOW_SECONDS, but lets the backend edit', async () => {
    rt = runtimeWith({ HIPOCHAT_EDIT_WINDOW_SECONDS: '60' });
    const message = await say(ann, 'old');
    const later = Date.now() + 61_000;
    const now = jest.spyOn(Date, 'now').mockReturnValue(later);
    try {
      await expect(change(ann, { type: 'edit', id: message.id, body: 'new' })).rejects.toThrow(
        'within 60 seconds',
      );
      await expect(
        rt.edits.backendEdit('lobby', frame({ id: message.id, body: 'moderated' })),
      ).resolves.toMatchObject({
        body: 'moderated',
        edited: { by: null },
      });
    } finally {
      now.mockRestore();
    }
  });

  it('changes a message once for a backend request retried with the same Idempotency-Key', async () => {
    const message = await say(ann, 'v1');
    bus.published = [];
    const first = await rt.edits.backendEdit('lobby', frame({ id: message.id, body: 'v2' }), 'k-1');
    const retried = await rt.edits.backendEdit('lobby', frame({ id: message.id, body: 'v2' }), 'k-1');
    expect(retried).toEqual(first);
    expect(frames()).toHaveLength(1);
    await expect(rt.edits.backendDelete('lobby', frame({ id: message.id }), 'bad key')).rejects.toMatchObject(
      {
        statusCode: 400,
      },
    );
  });

  it("keeps a user whose id is `backend` apart from the backend's Idempotency-Key", async () => {
    // Prepare: that user reacts with clientId X first.
    const message = await say(ann, 'SPAM');
    await change(who('backend'), { type: 'react', id: message.id, emoji: '👍', clientId: 'X' });

    // Act: the backend deletes with Idempotency-Key X.
    const answer = await rt.edits.backendDelete('lobby', frame({ id: message.id }), 'X');

    // Assess: it did delete.
    expect(answer).toMatchObject({ id: message.id, deleted: true });
    const [shown] = await history();
    expect(shown).toMatchObject({ id: message.id, deleted: true });
    expect(JSON.stringify(shown)).not.toContain('SPAM');
  });

  it('names the real depth limit when a backend edit body nests past it', async () => {
    const message = await say(ann, 'v1');
    const deep = (levels: number) => JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`) as unknown;
    await expect(rt.edits.backendEdit('lobby', frame({ id: message.id, body: deep(33) }))).rejects.toThrow(
      'message too deeply nested: the limit is 32 levels',
    );
    await expect(
      rt.edits.backendEdit('lobby', frame({ id: message.id, body: deep(32) })),
    ).resolves.toMatchObject({ id: message.id });
  });

  it('answers 404 for an id the room does not hold', async () => {
    await expect(rt.edits.backendEdit('lobby', frame({ id: '1-0', body: 'x' }))).rejects.toMatchObject({
      statusCode: 404,
    });
    await expect(rt.edits.backendDelete('lobby', frame({ id: '1-0' }))).rejects.toMatchObject({
      statusCode: 404,
    });
  });

  it('publishes edit and delete frames for signals connections, and no message', async () => {
    const message = await say(ann, 'v1');
    bus.published = [];
    await change(ann, { type: 'edit', id: message.id, body: 'v2' });
    await change(ann, { type: 'delete', id: message.id });
    expect(frames()).toEqual([
      {
        type: 'edit',
        room: 'lobby',
        id: message.id,
        body: 'v2',
        edited: { at: expect.any(Number), by: 'ann' },
      },
      { type: 'delete', room: 'lobby', id: message.id },
    ]);
    expect(bus.published.filter((published) => !isSignal(published))).toEqual([]);
  });

  it('acks a retry with the same clientId and changes or publishes nothing more', async () => {
    const message = await say(ann, 'v1');
    bus.published = [];
    const edit = { type: 'edit', id: message.id, body: 'v2', clientId: 'same' };
    await change(ann, edit);
    await change(ann, { type: 'edit', id: message.id, body: 'v3' });
    await expect(change(ann, edit)).resolves.toEqual({ id: message.id, clientId: 'same' });
    expect((await history())[0]).toMatchObject({ body: 'v3' });
    expect(frames()).toHaveLength(2);
  });

  it('changes no unread count', async () => {
    await rt.chat.addMembers('lobby', { members: ['bob'] });
    const message = await say(ann, 'v1');
    await change(ann, { type: 'edit', id: message.id, body: 'v2' });
    await change(bob, { type: 'react', id: message.id, emoji: '👍' });
    expect(await rt.chat.notification('lobby', bob)).toBe(1);
  });

  it('counts edits against the sender rate limit', async () => {
    rt = runtimeWith({ HIPOCHAT_RATE_LIMIT_PER_MINUTE: '2' });
    const message = await say(ann, 'v1');
    await change(ann, { type: 'edit', id: message.id, body: 'v2' });
    await expect(change(ann, { type: 'edit', id: message.id, body: 'v3' })).rejects.toMatchObject({
      statusCode: 429,
    });
  });

  it('counts changes against the user rate limit across rooms', async () => {
    rt = runtimeWith({ HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE: '2' });
    const message = await say(ann, 'v1');
    await change(ann, { type: 'react', id: message.id, emoji: '👌' });
    await expect(change(ann, { type: 'edit', id: message.id, body: 'v2' })).rejects.toMatchObject({
      statusCode: 429,
    });
  });

  it.each([
    ['a body over the size limit', { body: 'x'.repeat(20_000) }, 413],
    ['a body nested too deep', { body: JSON.parse('['.repeat(40) + ']'.repeat(40)) }, 400],
    ['no body', {}, 400],
    ['a malformed id', { id: 'nope', body: 'x' }, 400],
  ])('refuses an edit with %s', async (_, fields, status) => {
    const message = await say(ann, 'v1');
    await expect(change(ann, { type: 'edit', id: message.id, ...fields })).rejects.toMatchObject({
      statusCode: status,
    });
  });
});

/** Reacts as `identity` with `emoji` to message `id` in the lobby. */
const react = (identity: Identity, id: string, emoji: unknown) =>
  change(identity, { type: 'react', id, emoji });

describe('reactions', () => {
  it('toggles a reaction: a second identical frame takes it back', async () => {
    const message = await say(ann, 'hi');
    await react(bob, message.id, '👍');
    await react(ann, message.id, '👍');
    expect((await history())[0]!.reactions).toEqual({ '👍': { count: 2, users: ['bob', 'ann'] } });
    await react(bob, message.id, '👍');
    expect((await history())[0]!.reactions).toEqual({ '👍': { count: 1, users: ['ann'] } });
    await react(ann, message.id, '👍');
    expect((await history())[0]).not.toHaveProperty('reactions');
  });

  it('announces each toggle as a small change frame, not the whole summary', async () => {
    rt = runtimeWith({ HIPOCHAT_RATE_LIMIT_PER_MINUTE: '100000' });
    const message = await say(ann, 'hi');
    for (let n = 0; n < 150; n += 1) await react(who(`user-${n}`), message.id, '🎉');
    await react(ann, message.id, '🎉');
    await react(ann, message.id, '🎉');
    const [added, removed] = frames().slice(-2);
    expect(added).toEqual({
      type: 'reaction',
      room: 'lobby',
      id: message.id,
      emoji: '🎉',
      user: 'ann',
      count: 151,
      added: true,
    });
    expect(removed).toMatchObject({ user: 'ann', count: 150, added: false });
    // The same size with 150 reactors as with one: the input, the count and the message id.
    expect(Buffer.byteLength(JSON.stringify(added), 'utf8')).toBeLessThan(130);
  });

  it(`allows at most ${MAX_REACTIONS_PER_MESSAGE} distinct reactions per message`, async () => {
    rt = runtimeWith({ HIPOCHAT_RATE_LIMIT_PER_MINUTE: '1000' });
    const message = await say(ann, 'hi');
    for (const emoji of TWENTY_EMOJI) await react(bob, message.id, emoji);
    await expect(react(bob, message.id, '🦄')).rejects.toMatchObject({ statusCode: 409 });
    // An existing reaction still takes another user.
    await react(ann, message.id, '👍');
    expect((await history())[0]!.reactions!['👍']!.count).toBe(2);
  });

  it('lists at most 20 users per emoji, counts them all and says clipped; an unlisted user still toggles', async () => {
    rt = runtimeWith({ HIPOCHAT_RATE_LIMIT_PER_MINUTE: '1000' });
    const message = await say(ann, 'hi');
    for (let i = 0; i < 25; i += 1) await react(who(`u${i}`), message.id, '🎉');
    expect((await history())[0]!.reactions!['🎉']).toMatchObject({ count: 25, clipped: true });
    expect((await history())[0]!.reactions!['🎉']!.users).toHaveLength(20);
    await react(who('u24'), message.id, '🎉');
    expect(frames().at(-1)).toMatchObject({ user: 'u24', count: 24, added: false });
    expect((await history())[0]!.reactions!['🎉']!.count).toBe(24);
  });

  it('keeps 150 users × 20 emoji to a bounded summary in history', async () => {
    rt = runtimeWith({ HIPOCHAT_RATE_LIMIT_PER_MINUTE: '100000' });
    const message = await say(ann, 'hi');
    for (const emoji of TWENTY_EMOJI) {
      for (let n = 0; n < 150; n += 1) await react(who(`user-${n}`), message.id, emoji);
    }
    const { reactions } = (await history())[0]!;
    expect(Object.values(reactions!).map((summary) => summary.count)).toEqual(TWENTY_EMOJI.map(() => 150));
    // 20 listed ids per emoji: about 5 KB, where every user took 189 KB.
    expect(Buffer.byteLength(JSON.stringify(reactions), 'utf8')).toBeLessThan(6000);
  });

  it.each([
    ...UNREADABLE_EMOJI,
    ['a name no HIPOCHAT_REACTIONS offers', 'thumbsup'],
    ['two emoji', '👍👍'],
    ['a number', 42],
  ])('refuses %s with a clear error, storing nothing', async (_, emoji) => {
    const message = await say(ann, 'hi');
    await expect(react(bob, message.id, emoji)).rejects.toMatchObject({
      statusCode: 400,
      message: expect.stringContaining('emoji must be one emoji'),
    });
    expect((await history())[0]).not.toHaveProperty('reactions');
    expect(frames()).toEqual([]);
  });

  it('accepts the names HIPOCHAT_REACTIONS offers besides every emoji, and names them when refusing', async () => {
    rt = runtimeWith({ HIPOCHAT_REACTIONS: 'thumbsup, party_popper' });
    const message = await say(ann, 'hi');
    await react(bob, message.id, 'thumbsup');
    await react(bob, message.id, '👍');
    expect(Object.keys((await history())[0]!.reactions!)).toEqual(['thumbsup', '👍']);
    await expect(react(bob, message.id, 'heart')).rejects.toThrow('or one of: thumbsup party_popper');
  });

  it('refuses to start with HIPOCHAT_REACTIONS naming an Object.prototype property or no reaction', () => {
    for (const list of ['__proto__', 'thumbsup,constructor', 'two words', '\u200d']) {
      expect(() => runtimeWith({ HIPOCHAT_REACTIONS: list })).toThrow('HIPOCHAT_REACTIONS must list');
    }
  });

  it('refuses a reaction to a deleted or unknown message', async () => {
    const message = await say(ann, 'hi');
    await change(ann, { type: 'delete', id: message.id });
    await expect(react(bob, message.id, '👍')).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('isValidEmoji', () => {
  it.each(['👍', '👍🏽', '🇫🇷', '❤️', '👩‍👩‍👧', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '1️⃣'])('accepts %s', (emoji) => {
    expect(isValidEmoji(emoji)).toBe(true);
  });

  it('accepts a name only when the server offers it', () => {
    expect(isValidEmoji('thumbsup')).toBe(false);
    expect(isValidEmoji('thumbsup', ['thumbsup'])).toBe(true);
  });

  it.each([
    '',
    '👍👍',
    'a',
    'thumbsup',
    '\u200d',
    '\u202e',
    '\u{E0041}',
    '\ud83d',
    '__proto__',
    '\n',
    42,
    null,
  ])('refuses %p', (emoji) => {
    expect(isValidEmoji(emoji)).toBe(false);
  });
});

describe('occupancy', () => {
  it('answers live connections and members alongside who is online', async () => {
    await rt.chat.addMembers('lobby', { members: ['ann', 'bob', 'cid'] });
    await rt.chat.join('lobby', ann, 'ann-1');
    await rt.chat.join('lobby', ann, 'ann-2');
    const answer = await rt.signals.presence('lobby', ann);
    expect(answer).toMatchObject({ connections: 2, members: 3 });
    expect(answer.online).toHaveLength(1);
  });
});
