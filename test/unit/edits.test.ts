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
import { RecordingBus } from '../support/recording-bus.js';
import { RecordingSender } from '../support/recording-sender.js';

const who = (userId: string): Identity => ({ userId, profile: { id: userId, username: userId } });
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
    await change(who('backend'), { type: 'react', id: message.id, emoji: 'ok', clientId: 'X' });

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
    await change(ann, { type: 'react', id: message.id, emoji: 'ok' });
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

describe('reactions', () => {
  it('toggles a reaction: a second identical frame takes it back', async () => {
    const message = await say(ann, 'hi');
    await change(bob, { type: 'react', id: message.id, emoji: '👍' });
    await change(ann, { type: 'react', id: message.id, emoji: '👍' });
    expect((await history())[0]!.reactions).toEqual({ '👍': { count: 2, users: ['bob', 'ann'] } });
    await change(bob, { type: 'react', id: message.id, emoji: '👍' });
    expect((await history())[0]!.reactions).toEqual({ '👍': { count: 1, users: ['ann'] } });
    await change(ann, { type: 'react', id: message.id, emoji: '👍' });
    expect((await history())[0]).not.toHaveProperty('reactions');
    expect(frames().at(-1)).toEqual({ type: 'reaction', room: 'lobby', id: message.id, reactions: {} });
  });

  it(`allows at most ${MAX_REACTIONS_PER_MESSAGE} distinct reactions per message`, async () => {
    rt = runtimeWith({ HIPOCHAT_RATE_LIMIT_PER_MINUTE: '1000' });
    const message = await say(ann, 'hi');
    for (let i = 0; i < MAX_REACTIONS_PER_MESSAGE; i += 1) {
      await change(bob, { type: 'react', id: message.id, emoji: `e${i}` });
    }
    await expect(change(bob, { type: 'react', id: message.id, emoji: 'one_more' })).rejects.toMatchObject({
      statusCode: 409,
    });
    // An existing reaction still takes another user.
    await change(ann, { type: 'react', id: message.id, emoji: 'e0' });
    expect((await history())[0]!.reactions!.e0!.count).toBe(2);
  });

  it('lists at most 20 users per emoji and counts them all', async () => {
    rt = runtimeWith({ HIPOCHAT_RATE_LIMIT_PER_MINUTE: '1000' });
    const message = await say(ann, 'hi');
    for (let i = 0; i < 25; i += 1) {
      await change(who(`u${i}`), { type: 'react', id: message.id, emoji: 'tada' });
    }
    const { tada } = (await history())[0]!.reactions!;
    expect(tada!.count).toBe(25);
    expect(tada!.users).toHaveLength(20);
  });

  it('refuses a reaction to a deleted or unknown message', async () => {
    const message = await say(ann, 'hi');
    await change(ann, { type: 'delete', id: message.id });
    await expect(change(bob, { type: 'react', id: message.id, emoji: '👍' })).rejects.toMatchObject({
      statusCode: 404,
    });
  });
});

describe('isValidEmoji', () => {
  it.each(['👍', '👍🏽', '🇫🇷', '❤️', 'thumbsup', '+1', 'party_popper', 'a'])('accepts %s', (emoji) => {
    expect(isValidEmoji(emoji)).toBe(true);
  });

  it.each(['', '👍👍', 'Thumbs', 'two words', 'x'.repeat(33), '👩‍👩‍👧', '\n', 42, null])(
    'refuses %p',
    (emoji) => {
      expect(isValidEmoji(emoji)).toBe(false);
    },
  );
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
