import {
  type ChatMessage,
  HipochatClient,
  type HipochatClientOptions,
  HipochatError,
  type MessageMeta,
  ModerationError,
  type RepliesEvent,
  type UnreadEvent,
} from '@hipochat/client';
import { FakeSocket, FakeSocketConstructor } from '../support/fake-socket.js';

const ROOT = '1700000000000-0';
const REPLY = '1700000000001-0';
const LATER = '1700000000002-0';

const message = (id: string, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  id,
  type: 'message',
  room: 'r',
  token: 'r',
  timestamp: 1,
  body: `text ${id}`,
  author: { username: 'bob' },
  senderId: 'bob',
  ...extra,
});

interface Call {
  method: string;
  path: string;
  body?: unknown;
}

/**
 * A scripted HTTP API: `GET /talk/old` answers `history` (all read), other paths answer what
 * `routes` names (a status and body); every call is recorded.
 */
function httpApi(history: ChatMessage[], routes: Record<string, [number, unknown]> = {}) {
  const calls: Call[] = [];
  const fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    const parsed = new URL(String(url));
    const path = `${parsed.pathname}${parsed.search}`;
    const method = init?.method ?? 'GET';
    calls.push({ method, path, ...(init?.body ? { body: JSON.parse(String(init.body)) } : {}) });
    if (parsed.pathname.startsWith('/talk/old/')) {
      return new Response(
        JSON.stringify({ oldy: history, results: { read_messages: history, unread_messages: [] } }),
      );
    }
    const route = Object.keys(routes).find((prefix) => path.startsWith(prefix));
    if (!route) return new Response(JSON.stringify({ error: 'not found' }), { status: 404 });
    const [status, body] = routes[route]!;
    return new Response(JSON.stringify(body), { status });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

async function liveClient(options: Partial<HipochatClientOptions> = {}) {
  const client = new HipochatClient({
    url: 'ws://127.0.0.1:1',
    room: 'r',
    token: 'alice',
    WebSocket: FakeSocketConstructor,
    keepAliveMs: 0,
    ...options,
  });
  await client.connect(5000);
  return { client, socket: FakeSocket.last };
}

/** The last frame the client sent, parsed. */
const lastSent = (socket: FakeSocket) =>
  JSON.parse(socket.sent[socket.sent.length - 1]!) as Record<string, unknown>;

beforeEach(() => FakeSocket.reset());

describe('HipochatClient replies and threads', () => {
  it('sends a reply with parentId and the mentioned user ids on the frame, and counts them in frameBytes', async () => {
    // Prepare
    const { client, socket } = await liveClient(httpApi([message(ROOT)]));

    // Act
    const reply = client.reply(ROOT, 'yes', { mentions: ['bob'] });
    const frame = lastSent(socket);
    socket.receive({ type: 'ack', id: REPLY, clientId: frame.clientId });

    // Assess
    await expect(reply).resolves.toEqual({ id: REPLY, clientId: frame.clientId });
    expect(frame).toMatchObject({ type: 'message', body: 'yes', parentId: ROOT, mentions: ['bob'] });
    expect(client.frameBytes('yes', { parentId: ROOT, mentions: ['bob'] })).toBeGreaterThan(
      client.frameBytes('yes'),
    );
    client.close();
  });

  it('sends neither field for a plain message (old servers see the frame they always did)', async () => {
    const { client, socket } = await liveClient(httpApi([]));
    void client.send('plain', { mentions: [] }).catch(() => {});
    expect(Object.keys(lastSent(socket)).sort()).toEqual(['body', 'clientId', 'type']);
    client.close();
  });

  it("keeps the root's replies current from the live replies frame, once per change, ignoring stale frames", async () => {
    // Prepare
    const { client, socket } = await liveClient(httpApi([message(ROOT)]));
    const events: RepliesEvent[] = [];
    client.on('replies', (event) => events.push(event));

    // Act
    socket.receive({ type: 'replies', room: 'r', id: ROOT, count: 2, lastId: LATER });
    socket.receive({ type: 'replies', room: 'r', id: ROOT, count: 2, lastId: LATER });
    socket.receive({ type: 'replies', room: 'r', id: ROOT, count: 1, lastId: REPLY });

    // Assess
    expect(events.map(({ id, count, lastId }) => ({ id, count, lastId }))).toEqual([
      { id: ROOT, count: 2, lastId: LATER },
    ]);
    expect(events[0]!.message?.id).toBe(ROOT);
    expect(client.getMessage(ROOT)?.replies).toEqual({ count: 2, lastId: LATER });
    client.close();
  });

  it('counts a live reply on its root without signals, and the replies frame that follows changes nothing', async () => {
    // Prepare
    const { client, socket } = await liveClient(httpApi([message(ROOT)]));
    const events: RepliesEvent[] = [];
    const messages: ChatMessage[] = [];
    client.on('replies', (event) => events.push(event));
    client.on('message', (m) => messages.push(m));

    // Act
    socket.receive(message(REPLY, { parentId: ROOT }));
    socket.receive({ type: 'replies', room: 'r', id: ROOT, count: 1, lastId: REPLY });

    // Assess
    expect(messages.map((m) => [m.id, m.parentId])).toEqual([[REPLY, ROOT]]);
    expect(events.map(({ count, lastId }) => ({ count, lastId }))).toEqual([{ count: 1, lastId: REPLY }]);
    expect(client.getMessage(ROOT)?.replies).toEqual({ count: 1, lastId: REPLY });
    client.close();
  });

  it('asks GET /talk/thread/{room}/{root}/ with limit and before, and takes the root summary it shows', async () => {
    // Prepare
    const root = message(ROOT, { replies: { count: 3, lastId: LATER } });
    const answer = {
      room: 'r',
      root,
      replies: [message(REPLY, { parentId: ROOT })],
      page: { more: true, before: REPLY },
    };
    const api = httpApi([message(ROOT)], { '/talk/thread/': [200, answer] });
    const { client } = await liveClient(api);

    // Act
    const thread = await client.thread(ROOT, { limit: 1, before: LATER });

    // Assess
    expect(thread.replies.map((m) => m.id)).toEqual([REPLY]);
    expect(api.calls.at(-1)).toEqual({
      method: 'GET',
      path: `/talk/thread/r/${ROOT}/?limit=1&before=${LATER}`,
    });
    expect(client.getMessage(ROOT)?.replies).toEqual({ count: 3, lastId: LATER });
    client.close();
  });

  it('lists the threads with GET /talk/threads/{room}/?limit=N', async () => {
    const entry = {
      root: message(ROOT, { replies: { count: 1, lastId: REPLY } }),
      count: 1,
      lastId: REPLY,
      unread: 1,
    };
    const api = httpApi([], { '/talk/threads/': [200, { room: 'r', threads: [entry] }] });
    const { client } = await liveClient(api);
    await expect(client.threads({ limit: 5 })).resolves.toEqual({ room: 'r', threads: [entry] });
    expect(api.calls.at(-1)).toEqual({ method: 'GET', path: '/talk/threads/r/?limit=5' });
    client.close();
  });
});

describe('HipochatClient mentions', () => {
  it('says meta.mentioned for a message whose mentions hold this user, and not for others', async () => {
    // Prepare
    const { client, socket } = await liveClient(httpApi([]));
    client.setSelfId('alice');
    const seen: [string, MessageMeta][] = [];
    client.on('message', (m, meta) => seen.push([m.id, meta]));

    // Act
    socket.receive(message(ROOT, { mentions: ['carol', 'alice'] }));
    socket.receive(message(REPLY, { mentions: ['carol'] }));
    socket.receive(message(LATER));

    // Assess
    expect(seen.map(([id, meta]) => [id, meta.mentioned])).toEqual([
      [ROOT, true],
      [REPLY, false],
      [LATER, false],
    ]);
    client.close();
  });

  it('answers the unread count with the mentions among them', async () => {
    const api = httpApi([], { '/talk/notification/': [200, { notification: 4, mentions: 2 }] });
    const { client } = await liveClient(api);
    await expect(client.http.counts('r')).resolves.toEqual({ notification: 4, mentions: 2 });
    await expect(client.http.notification('r')).resolves.toBe(4);
    client.close();
  });
});

describe('HipochatClient.markUnread', () => {
  const marked = { room: 'r', lastRead: ROOT, notification: 2, mentions: 1 };

  it('posts the id, reports the count and where unread starts, and marks nothing read while the reader has not looked again', async () => {
    // Prepare
    const api = httpApi([message(ROOT), message(REPLY)], { '/talk/unread/': [200, marked] });
    const { client, socket } = await liveClient({ ...api, autoMarkRead: true, isReading: () => true });
    const unread: UnreadEvent[] = [];
    client.on('unread', (event) => unread.push(event));

    // Act
    const answer = await client.markUnread(REPLY);
    const before = api.calls.length;
    socket.receive(message(LATER));
    const marksWhileHeld = api.calls.slice(before).filter((c) => c.path.startsWith('/talk/old/')).length;
    client.markRead();
    await new Promise((resolve) => setTimeout(resolve, 10));

    // Assess
    expect(answer).toEqual(marked);
    expect(api.calls[before - 1]).toEqual({ method: 'POST', path: '/talk/unread/r/', body: { id: REPLY } });
    expect(unread).toEqual([{ room: 'r', count: 2, mentions: 1, from: REPLY }]);
    expect(marksWhileHeld).toBe(0);
    expect(client.readMarkHeld).toBe(false);
    expect(api.calls.slice(before).filter((c) => c.path.startsWith('/talk/old/'))).toEqual([
      { method: 'GET', path: `/talk/old/r/?since=${LATER}` },
    ]);
    client.close();
  });

  it('keeps the room unread through a reconnect while held (the catch-up asks with mark=0)', async () => {
    // Prepare
    const api = httpApi([message(ROOT)], { '/talk/unread/': [200, marked] });
    const { client, socket } = await liveClient({
      ...api,
      isReading: () => true,
      reconnect: { initialDelayMs: 1, maxDelayMs: 1 },
    });
    await client.markUnread(ROOT);
    const before = api.calls.length;

    // Act
    socket.drop(1006, 'network');
    await new Promise<void>((resolve) => client.on('state', (s) => s.state === 'live' && resolve()));

    // Assess
    const catchUp = api.calls.slice(before).find((c) => c.path.startsWith('/talk/old/'));
    expect(catchUp?.path).toContain('mark=0');
    expect(client.readMarkHeld).toBe(true);
    client.close();
  });
});

describe('moderation refusals', () => {
  it('rejects a send refused by a mute with a ModerationError naming the reason and the seconds left', async () => {
    // Prepare
    const { client, socket } = await liveClient(httpApi([]));
    const errors: unknown[] = [];
    client.on('error', (error) => errors.push(error));

    // Act
    const sent = client.send('hi');
    const { clientId } = lastSent(socket);
    socket.receive({
      ERROR: 'you are muted in this room for 30 more seconds',
      clientId,
      reason: 'muted',
      retryAfter: 30,
    });
    const error = await sent.catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ModerationError);
    expect(error).toBeInstanceOf(HipochatError);
    expect(error).toMatchObject({ kind: 'moderation', reason: 'muted', retryAfter: 30 });
    expect(errors).toEqual([
      {
        kind: 'moderation',
        message: 'you are muted in this room for 30 more seconds',
        reason: 'muted',
        retryAfter: 30,
      },
    ]);
    client.close();
  });

  it.each([
    ['edit', (c: HipochatClient) => c.edit(ROOT, 'new')],
    ['react', (c: HipochatClient) => c.react(ROOT, '👍')],
    ['reply', (c: HipochatClient) => c.reply(ROOT, 'x')],
  ])('rejects a %s the moderation hook refused with its reason', async (_what, act) => {
    const { client, socket } = await liveClient(httpApi([message(ROOT)]));
    const sent = act(client);
    const { clientId } = lastSent(socket);
    socket.receive({ ERROR: 'rejected by moderation: spam', clientId, reason: 'spam' });
    await expect(sent).rejects.toMatchObject({
      name: 'ModerationError',
      reason: 'spam',
      message: 'rejected by moderation: spam',
    });
    client.close();
  });

  it('keeps a plain error frame a plain send error', async () => {
    const { client, socket } = await liveClient(httpApi([]));
    const sent = client.send('hi');
    socket.receive({ ERROR: 'rate limited', clientId: lastSent(socket).clientId });
    const error = await sent.catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(ModerationError);
    expect(error).toMatchObject({ kind: 'send', message: 'rate limited' });
    client.close();
  });

  it.each([
    [422, { error: 'rejected by moderation: spam', reason: 'spam' }, { reason: 'spam', status: 422 }],
    [
      403,
      { error: 'muted', reason: 'muted', retryAfter: 12 },
      { reason: 'muted', retryAfter: 12, status: 403 },
    ],
  ])('turns an HTTP %i with a reason into a ModerationError', async (status, body, expected) => {
    const api = httpApi([], { '/talk/item/': [status, body] });
    const { client } = await liveClient(api);
    await expect(client.http.inject('r', 'notification', { x: 1 })).rejects.toMatchObject({
      name: 'ModerationError',
      kind: 'moderation',
      ...expected,
    });
    client.close();
  });
});
