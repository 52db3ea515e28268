import { HipochatClient, HipochatHttp } from '@hipochat/client';
import { HipochatServer } from '@hipochat/server';
import WebSocket from 'ws';
import { type RecordedClient, recordedClient, settledLeave } from '../support/chat-client.js';
import { type ChatEndpoints, startGateway } from '../support/gateway.js';
import { freePort } from '../support/net.js';
import { uniqueRoom } from '../support/rooms.js';
import { eventually } from '../support/wait.js';

jest.setTimeout(90_000);

describe('HipochatClient against a local gateway', () => {
  let gateway: ChatEndpoints;
  const open: RecordedClient[] = [];

  beforeAll(async () => {
    gateway = await startGateway({ HIPOCHAT_SERVICE_KEY: 'client-test-key' });
  });

  afterEach(() => {
    for (const recorded of open.splice(0)) recorded.client.close();
  });

  afterAll(async () => {
    await gateway.stop();
  });

  function client(room: string, token: string, extra: Partial<Parameters<typeof recordedClient>[0]> = {}) {
    const recorded = recordedClient({ url: gateway.wsUrl, room, token, ...extra });
    open.push(recorded);
    return recorded;
  }

  it.each([
    ['API Gateway', (url: string) => url],
    ['Hipochat legacy', (url: string) => `${url}/talk/chat/`],
  ])('lets two users chat both ways with the %s URL shape', async (_shape, urlOf) => {
    // Prepare
    const room = uniqueRoom('both-ways');
    const alice = client(room, 'alice', { url: urlOf(gateway.wsUrl) });
    const bob = client(room, 'bob', { url: urlOf(gateway.wsUrl) });
    await Promise.all([alice.client.connect(), bob.client.connect()]);

    // Act
    const ack = await alice.client.send('hi bob');
    await bob.client.send({ text: 'hi alice' });

    // Assess
    await eventually(() => alice.messages.length === 2 && bob.messages.length === 2, 'both messages');
    expect(alice.bodies()).toEqual(['hi bob', { text: 'hi alice' }]);
    expect(bob.bodies()).toEqual(['hi bob', { text: 'hi alice' }]);
    expect(alice.messages[0]!.message.id).toBe(ack.id);
    expect(alice.messages.map((m) => m.meta.own)).toEqual([true, false]);
    expect(bob.messages.map((m) => m.meta.own)).toEqual([false, true]);
    expect(alice.client.userId).toBe('alice');
    expect(alice.states.map((s) => s.state)).toEqual(['connecting', 'live']);
  });

  it('shows the history on join, split into read and unread', async () => {
    // Prepare: carol saw the first message, then left; two more came while she was away.
    const room = uniqueRoom('history');
    const writer = client(room, 'dave');
    const carol = client(room, 'carol');
    await Promise.all([writer.client.connect(), carol.client.connect()]);
    await writer.client.send('seen');
    await eventually(() => carol.messages.length === 1, 'the first message');
    carol.client.close();
    await settledLeave(carol.client.http, room);
    await writer.client.send('missed 1');
    await writer.client.send('missed 2');

    // Act
    const again = client(room, 'carol');
    const batches: { initial: boolean; read: unknown[]; unread: unknown[] }[] = [];
    again.client.on('history', (batch) =>
      batches.push({
        initial: batch.initial,
        read: batch.read.map((m) => m.body),
        unread: batch.unread.map((m) => m.body),
      }),
    );
    await again.client.connect();

    // Assess
    expect(batches).toEqual([{ initial: true, read: ['seen'], unread: ['missed 1', 'missed 2'] }]);
    expect(again.messages.map((m) => [m.message.body, m.meta.source, m.meta.unread])).toEqual([
      ['seen', 'history', false],
      ['missed 1', 'history', true],
      ['missed 2', 'history', true],
    ]);
  });

  it('opens on the newest page and loads earlier pages in order until the start', async () => {
    // Prepare
    const room = uniqueRoom('earlier');
    const writer = new HipochatHttp({ httpUrl: gateway.httpUrl, token: 'hank' });
    for (let n = 1; n <= 5; n += 1) await writer.inject(room, 'message', `m${n}`);
    const ivy = client(room, 'ivy', { pageSize: 2 });
    await ivy.client.connect();
    const first = ivy.bodies();

    // Act
    const pages = [];
    for (let n = 0; n < 3; n += 1) pages.push(await ivy.client.loadEarlier());

    // Assess
    expect(first).toEqual(['m4', 'm5']);
    expect(pages.map((page) => page.map((m) => m.body))).toEqual([['m2', 'm3'], ['m1'], []]);
    expect(ivy.bodies()).toEqual(['m4', 'm5', 'm2', 'm3', 'm1']);
    expect(ivy.messages.every((m) => m.meta.source === 'history')).toBe(true);
    expect(ivy.client.hasEarlier).toBe(false);
  });

  it('keeps a quiet connection alive with pings the server answers, storing nothing', async () => {
    // Prepare
    const room = uniqueRoom('keep-alive');
    const frames: string[] = [];
    class RecordingWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        this.on('message', (data) => frames.push(data.toString()));
      }
    }
    const quiet = client(room, 'quiet', { keepAliveMs: 100, WebSocket: RecordingWebSocket });

    // Act
    await quiet.client.connect();
    await eventually(() => frames.filter((f) => f === '{"type":"pong"}').length >= 2, 'two pongs');

    // Assess
    expect(quiet.errors).toEqual([]);
    expect(quiet.messages).toEqual([]);
    expect((await quiet.client.http.old(room)).oldy).toEqual([]);
  });

  it('delivers injections posted over HTTP as injection events', async () => {
    // Prepare
    const room = uniqueRoom('inject');
    const erin = client(room, 'erin');
    const injections: unknown[] = [];
    erin.client.on('injection', (message) => injections.push([message.type, message.body]));
    await erin.client.connect();

    // Act
    await new HipochatServer({ httpUrl: gateway.httpUrl, serviceKey: 'client-test-key' }).inject(
      room,
      'notification',
      { order: 42 },
    );

    // Assess
    await eventually(() => injections.length === 1, 'the injection');
    expect(injections).toEqual([['notification', { order: 42 }]]);
  });

  it('refuses an over-size message locally with a clear error and sends nothing', async () => {
    // Prepare
    const room = uniqueRoom('size');
    const frank = client(room, 'frank');
    await frank.client.connect();

    // Act
    const sending = frank.client.send('x'.repeat(frank.client.maxMessageBytes));

    // Assess
    await expect(sending).rejects.toThrow(/message too large: \d+ bytes, the limit is 16384 bytes/);
    const old = await frank.client.http.old(room);
    expect(old.oldy).toEqual([]);
  });

  it('rejects a send the server refuses with the error frame text, and stays live', async () => {
    // Prepare
    const room = uniqueRoom('refused');
    const gina = client(room, 'gina');
    await gina.client.connect();

    // Act
    const refused = gina.client.send('hello', { type: 'no-such-type' });

    // Assess
    await expect(refused).rejects.toThrow('unknown message type: no-such-type');
    expect(gina.errors).toContain('unknown message type: no-such-type');
    await expect(gina.client.send('still here')).resolves.toEqual(
      expect.objectContaining({ id: expect.any(String) }),
    );
    expect(gina.client.state).toBe('live');
  });

  it.each([
    ['API Gateway', (url: string) => url],
    ['Hipochat legacy', (url: string) => `${url}/talk/chat/`],
  ])('ends in closed with an authentication reason when the %s connect is refused', async (_shape, urlOf) => {
    // Prepare
    const bad = client(uniqueRoom('auth'), 'not a valid token!', { url: urlOf(gateway.wsUrl) });

    // Act
    const connecting = bad.client.connect();

    // Assess
    await expect(connecting).rejects.toThrow(/authentication error/);
    expect(bad.states.at(-1)).toEqual(expect.objectContaining({ state: 'closed' }));
    expect(bad.states.some((s) => s.state === 'reconnecting')).toBe(false);
  });

  it('connects with a single-use ticket instead of a token in the URL', async () => {
    // Prepare
    const room = uniqueRoom('ticket');
    const hank = client(room, 'hank', { useTicket: true });

    // Act
    await hank.client.connect();
    await hank.client.send('via ticket');

    // Assess
    await eventually(() => hank.messages.length === 1, 'the message');
    expect(hank.bodies()).toEqual(['via ticket']);
  });

  it.each([
    ['http://127.0.0.1:8888', /scheme must be ws:\/\/ or wss:\/\//],
    ['not a url', /invalid ws URL/],
  ])('explains a bad ws URL %j', (url, message) => {
    expect(() => new HipochatClient({ url, room: 'r', token: 't' })).toThrow(message);
  });

  it('gives up with the connection error when nothing listens and reconnecting is off', async () => {
    // Prepare
    const port = await freePort();
    const lost = client('nowhere', 'ivan', { url: `ws://127.0.0.1:${port}`, reconnect: false });

    // Act
    const connecting = lost.client.connect();

    // Assess
    await expect(connecting).rejects.toThrow(/closed: .*ECONNREFUSED/);
  });

  it.each([
    ['API Gateway', (url: string) => url],
    ['Hipochat legacy', (url: string) => `${url}/talk/chat/`],
  ])('gets presence, typing and read signals with the %s URL shape', async (_shape, urlOf) => {
    // Prepare: olga listens with signals; pat has not sent anything, so only the echo tells him who he is.
    const room = uniqueRoom('signals');
    const olga = client(room, 'olga', { url: urlOf(gateway.wsUrl), signals: true });
    const signals: string[] = [];
    olga.client.on('presence', (p) => signals.push(`${p.event} ${p.userId}`));
    olga.client.on('typing', (t) => signals.push(`typing ${t.senderId}`));
    olga.client.on('read', (r) => signals.push(`read ${r.userId}`));
    await olga.client.connect();
    const pat = client(room, 'pat', { url: urlOf(gateway.wsUrl), signals: true });
    const patSees: string[] = [];
    pat.client.on('typing', (t) => patSees.push(`typing ${t.senderId}`));

    // Act
    await pat.client.connect();
    await eventually(() => signals.includes('join pat'), 'pat joining');
    const typed = [pat.client.sendTyping(), pat.client.sendTyping()];
    await eventually(() => signals.includes('typing pat'), 'pat typing');
    await eventually(() => pat.client.userId === 'pat', 'pat learning who he is from his own notice');
    const ack = await olga.client.send('hello pat');
    await eventually(() => pat.messages.length === 1, 'pat receiving the message');
    await pat.client.catchUp();
    const online = await olga.client.http.presence(room);
    await eventually(() => signals.includes('read pat'), 'pat reading it');
    const receipts = await olga.client.http.receipts(room);
    pat.client.close();
    await eventually(() => signals.includes('leave pat'), 'pat leaving');

    // Assess
    expect(typed).toEqual([true, false]);
    expect(signals.filter((s) => s === 'typing pat')).toHaveLength(1);
    expect(patSees).toEqual([]);
    expect(online.online.map((user) => user.id).sort()).toEqual(['olga', 'pat']);
    expect(receipts.receipts.find((r) => r.user.id === 'pat')?.lastRead).toBe(ack.id);
  });

  describe('messages that change', () => {
    it.each([
      ['API Gateway', (url: string) => url],
      ['Hipochat legacy', (url: string) => `${url}/talk/chat/`],
    ])(
      'edits, reacts to and deletes with the %s URL shape, live for signals clients only',
      async (_shape, urlOf) => {
        // Prepare
        const room = uniqueRoom('changes');
        const url = urlOf(gateway.wsUrl);
        const author = client(room, 'ava', { url, signals: true });
        const reader = client(room, 'ben', { url, signals: true });
        const old = client(room, 'cal', { url });
        const changes: unknown[] = [];
        reader.client.on('edit', (e) => changes.push(['edit', e.id, e.body, e.edited.by]));
        reader.client.on('reaction', (e) => changes.push(['reaction', e.id, e.reactions]));
        reader.client.on('delete', (e) => changes.push(['delete', e.id]));
        const oldHeard: string[] = [];
        for (const event of ['edit', 'delete', 'reaction'] as const)
          old.client.on(event, () => oldHeard.push(event));
        await Promise.all([author.client.connect(), reader.client.connect(), old.client.connect()]);
        const { id } = await author.client.send('helo');
        await eventually(() => reader.messages.length === 1 && old.messages.length === 1, 'the message');

        // Act
        await author.client.edit(id, 'hello');
        const refused = reader.client.edit(id, 'hijacked');
        await reader.client.react(id, '👍');
        await author.client.react(id, '👍');
        await reader.client.react(id, '👍');
        await author.client.delete(id);
        await eventually(() => changes.some((c) => (c as string[])[0] === 'delete'), 'the delete');
        await old.client.send('old clients still chat');
        await eventually(() => old.messages.length === 2, 'the second message');

        // Assess
        await expect(refused).rejects.toThrow('you can only edit your own messages');
        expect(changes).toEqual([
          ['edit', id, 'hello', 'ava'],
          ['reaction', id, { '👍': { count: 1, users: ['ben'] } }],
          ['reaction', id, { '👍': { count: 2, users: expect.arrayContaining(['ava', 'ben']) } }],
          ['reaction', id, { '👍': { count: 1, users: ['ava'] } }],
          ['delete', id],
        ]);
        expect(reader.client.getMessage(id)).toMatchObject({ id, deleted: true });
        expect(reader.client.getMessage(id)?.body).toBeUndefined();
        expect(oldHeard).toEqual([]);
        const history = await new HipochatHttp({ httpUrl: gateway.httpUrl, token: 'cal' }).old(room);
        expect(JSON.stringify(history)).not.toContain('helo');
      },
    );
  });

  it('receives none of the signal frames without asking for them', async () => {
    // Prepare
    const room = uniqueRoom('no-signals');
    const quiet = client(room, 'quinn');
    const heard: string[] = [];
    for (const event of ['presence', 'typing', 'read'] as const)
      quiet.client.on(event, () => heard.push(event));
    await quiet.client.connect();
    const loud = client(room, 'rex', { signals: true });

    // Act
    await loud.client.connect();
    loud.client.sendTyping();
    await loud.client.send('done');
    await eventually(() => quiet.messages.length === 1, 'the message');

    // Assess: the message came after the signals would have.
    expect(heard).toEqual([]);
  });
});
