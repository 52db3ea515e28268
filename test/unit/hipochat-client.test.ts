import {
  backoffDelay,
  compareIds,
  HipochatClient,
  type HipochatClientOptions,
  HipochatHttp,
  httpUrlFromWs,
  TYPING_SEND_INTERVAL_MS,
  utf8Length,
} from '@hipochat/client';

describe('backoffDelay', () => {
  it.each([
    [1, 500, 1000],
    [2, 1000, 2000],
    [3, 2000, 4000],
    [10, 7500, 15000],
    [60, 7500, 15000],
  ])(
    'waits within [%#] the upper half of the capped exponential step for attempt %i',
    (attempt, low, high) => {
      expect(backoffDelay(attempt, 1000, 15_000, () => 0)).toBe(low);
      expect(backoffDelay(attempt, 1000, 15_000, () => 1)).toBe(high);
    },
  );

  it('spreads clients out with jitter', () => {
    const delays = new Set(Array.from({ length: 20 }, () => backoffDelay(4, 1000, 15_000)));
    expect(delays.size).toBeGreaterThan(1);
  });
});

describe('compareIds', () => {
  it.each([
    ['1700000000000-0', '1700000000000-1', -1],
    ['1700000000000-10', '1700000000000-9', 1],
    ['999-5', '1000-0', -1],
    ['1700000000000-3', '1700000000000-3', 0],
  ])('orders %s against %s numerically', (a, b, sign) => {
    expect(Math.sign(compareIds(a, b))).toBe(sign);
  });
});

describe('httpUrlFromWs', () => {
  it.each([
    ['ws://127.0.0.1:8888', 'http://127.0.0.1:8888'],
    ['wss://chat.example.com/prod', 'https://chat.example.com'],
    ['ws://127.0.0.1:8888/talk/chat/', 'http://127.0.0.1:8888'],
  ])('derives the HTTP base of %s', (ws, http) => {
    expect(httpUrlFromWs(ws)).toBe(http);
  });
});

describe('utf8Length', () => {
  it('counts bytes, not characters', () => {
    expect(utf8Length('aé€😀')).toBe(1 + 2 + 3 + 4);
  });
});

describe('HipochatClient options', () => {
  it.each([
    [{ url: 'https://x', room: 'r', token: 't' }, /scheme must be ws:\/\/ or wss:\/\//],
    [{ url: 'ws://x', room: 'no spaces', token: 't' }, /invalid room "no spaces"/],
    [{ url: 'ws://x', room: 'r', token: '' }, /a token is required/],
  ])('refuses %j with a clear message', (options, message) => {
    expect(() => new HipochatClient(options)).toThrow(message);
  });

  it('refuses an over-size message before touching the network', async () => {
    const client = new HipochatClient({
      url: 'ws://127.0.0.1:1',
      room: 'r',
      token: 't',
      maxMessageBytes: 100,
    });
    await expect(client.send('x'.repeat(100))).rejects.toThrow(
      /message too large: \d+ bytes, the limit is 100 bytes \(nothing was sent\)/,
    );
    expect(client.state).toBe('idle');
  });
});

describe('HipochatClient frames', () => {
  /** A socket that opens at once and lets the test play the server. */
  class FakeSocket {
    static last: FakeSocket | undefined;
    readyState = 0;
    sent: string[] = [];
    onopen: ((event: unknown) => void) | null = null;
    onmessage: ((event: { data: unknown }) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;
    onclose: ((event: { code: number; reason: string }) => void) | null = null;
    constructor(readonly url: string) {
      FakeSocket.last = this;
      setTimeout(() => {
        this.readyState = 1;
        this.onopen?.({});
      }, 0);
    }
    send(data: string): void {
      this.sent.push(data);
    }
    close(): void {
      this.readyState = 3;
    }
    receive(data: string): void {
      this.onmessage?.({ data });
    }
  }

  const emptyHistory = async () =>
    new Response(JSON.stringify({ oldy: [], results: { read_messages: [], unread_messages: [] } }));

  function message(id: string, type = 'message') {
    return { id, type, room: 'r', token: 'r', timestamp: 1, body: id, author: null };
  }

  async function liveClient(options: Partial<HipochatClientOptions> = {}) {
    const client = new HipochatClient({
      url: 'ws://127.0.0.1:1',
      room: 'r',
      token: 't',
      WebSocket: FakeSocket,
      fetch: emptyHistory,
      keepAliveMs: 0,
      ...options,
    });
    const events: string[] = [];
    client.on('message', (m) => events.push(`message ${m.id}`));
    client.on('injection', (m) => events.push(`injection ${m.id}`));
    client.on('error', (e) => events.push(`error ${e.kind}: ${e.message}`));
    await client.connect(5000);
    return { client, socket: FakeSocket.last!, events };
  }

  it('unpacks batches, skips what it does not know, and reports a frame that is not JSON', async () => {
    const { client, socket, events } = await liveClient();
    socket.receive(
      JSON.stringify({
        type: 'batch',
        room: 'r',
        messages: [message('1-0'), message('1-1', 'notification')],
      }),
    );
    socket.receive(JSON.stringify(message('1-2')));
    socket.receive(JSON.stringify(message('1-2')));
    socket.receive('{"type":"pong"}');
    socket.receive('{"type":"presence","who":["ann"]}');
    socket.receive('not json');
    expect(events).toEqual([
      'message 1-0',
      'injection 1-1',
      'message 1-2',
      'error frame: the server sent a frame that is not JSON',
    ]);
    expect(client.lastMessageId).toBe('1-2');
    client.close();
  });

  it('reads a stored message with an ERROR or ack field as a message, never as an error or ack', async () => {
    const { client, socket, events } = await liveClient();
    const pending = client.send('mine', { clientId: 'c1' });
    socket.receive(JSON.stringify({ ...message('1-0'), ERROR: 'authentication error' }));
    socket.receive(JSON.stringify({ ...message('1-1'), ERROR: 'you were logged out', clientId: 'c1' }));
    expect(events).toEqual(['message 1-0', 'message 1-1']);
    expect(client.state).toBe('live');
    socket.receive('{"type":"ack","id":"5-0","clientId":"c1"}');
    await expect(pending).resolves.toEqual({ id: '5-0', clientId: 'c1' });
    client.close();
  });

  it('resolves a send on its ack and rejects one named by an error frame', async () => {
    const { client, socket } = await liveClient();
    const ok = client.send('hi', { clientId: 'a' });
    const refused = client.send('hi', { clientId: 'b' });
    expect(socket.sent).toEqual([
      '{"type":"message","body":"hi","clientId":"a"}',
      '{"type":"message","body":"hi","clientId":"b"}',
    ]);
    socket.receive('{"ERROR":"rate limited","clientId":"b"}');
    socket.receive('{"type":"ack","id":"5-0","clientId":"a"}');
    await expect(ok).resolves.toEqual({ id: '5-0', clientId: 'a' });
    await expect(refused).rejects.toThrow('rate limited');
    client.close();
  });

  describe('signals', () => {
    const profile = (name: string) => ({ id: name, username: name });

    it.each([
      [
        'the API Gateway shape',
        'ws://127.0.0.1:1',
        /^ws:\/\/127\.0\.0\.1:1\/\?room=r&token=t&batch=1&signals=1$/,
      ],
      [
        'the Hipochat shape',
        'ws://127.0.0.1:1/talk/chat/',
        /^ws:\/\/127\.0\.0\.1:1\/talk\/chat\/r\/\?token=t&batch=1&signals=1$/,
      ],
    ])('asks for them with signals=1 on %s', async (_shape, url, expected) => {
      const { client, socket } = await liveClient({ url, signals: true });
      expect((socket as unknown as { url: string }).url).toMatch(expected);
      client.close();
    });

    it('leaves them out unless asked, as old clients do', async () => {
      const { client, socket } = await liveClient();
      expect((socket as unknown as { url: string }).url).not.toContain('signals');
      client.close();
    });

    it('emits presence, typing and read with the user id from the profile', async () => {
      // Prepare
      const { client, socket } = await liveClient({ signals: true });
      const seen: unknown[] = [];
      client.on('presence', (event) => seen.push(['presence', event]));
      client.on('typing', (event) => seen.push(['typing', event]));
      client.on('read', (event) => seen.push(['read', event]));

      // Act
      socket.receive(JSON.stringify({ type: 'presence', event: 'join', room: 'r', user: profile('bob') }));
      socket.receive(
        JSON.stringify({ type: 'typing', room: 'r', author: profile('bob'), senderId: 'bob', timestamp: 1 }),
      );
      socket.receive(JSON.stringify({ type: 'read', room: 'r', user: profile('bob'), id: '7-0' }));
      socket.receive(JSON.stringify({ type: 'presence', event: 'leave', room: 'r', user: { id: 42 } }));

      // Assess
      expect(seen).toEqual([
        ['presence', { event: 'join', room: 'r', user: profile('bob'), userId: 'bob' }],
        ['typing', { room: 'r', author: profile('bob'), senderId: 'bob' }],
        ['read', { room: 'r', user: profile('bob'), userId: 'bob', id: '7-0' }],
        ['presence', { event: 'leave', room: 'r', user: { id: 42 }, userId: '42' }],
      ]);
      client.close();
    });

    it('emits one read event per mark of a reads digest, alone or in a batch frame', async () => {
      // Prepare
      const { client, socket, events } = await liveClient({ signals: true });
      const seen: unknown[] = [];
      client.on('read', (event) => seen.push(event));

      // Act
      socket.receive(
        JSON.stringify({
          type: 'reads',
          room: 'r',
          marks: [
            { user: profile('bob'), id: '7-0' },
            { user: profile('cat'), id: '6-0' },
          ],
        }),
      );
      socket.receive(
        JSON.stringify({
          type: 'batch',
          room: 'r',
          messages: [message('8-0')],
          reads: [{ user: profile('bob'), id: '8-0' }],
        }),
      );

      // Assess
      expect(seen).toEqual([
        { room: 'r', user: profile('bob'), userId: 'bob', id: '7-0' },
        { room: 'r', user: profile('cat'), userId: 'cat', id: '6-0' },
        { room: 'r', user: profile('bob'), userId: 'bob', id: '8-0' },
      ]);
      expect(events).toEqual(['message 8-0']);
      client.close();
    });

    describe('autoMarkRead', () => {
      /** A history endpoint that counts the catch-ups (each marks the room read). */
      const countingHistory = () => {
        const counted = { marks: 0 };
        const fetch = (async () => {
          counted.marks += 1;
          return emptyHistory();
        }) as unknown as typeof globalThis.fetch;
        return { counted, fetch };
      };

      it('marks the room read once for a burst of messages of others while the reader looks', async () => {
        // Prepare
        const { counted, fetch } = countingHistory();
        const { client, socket } = await liveClient({ fetch, autoMarkRead: true, isReading: () => true });
        const connectCatchUp = counted.marks;

        // Act
        for (const id of ['1-0', '1-1', '1-2'])
          socket.receive(JSON.stringify({ ...message(id), senderId: 'bob' }));
        await new Promise((done) => setTimeout(done, 10));

        // Assess: one mark now; the rest wait for the interval's end.
        expect(counted.marks - connectCatchUp).toBe(1);
        client.close();
      });

      it('never marks the room read for its own messages', async () => {
        // Prepare
        const { counted, fetch } = countingHistory();
        const { client, socket } = await liveClient({ fetch, autoMarkRead: true, isReading: () => true });
        client.setSelfId('ann');
        const connectCatchUp = counted.marks;

        // Act
        socket.receive(JSON.stringify({ ...message('1-0'), senderId: 'ann' }));
        await new Promise((done) => setTimeout(done, 10));

        // Assess
        expect(counted.marks - connectCatchUp).toBe(0);
        client.close();
      });

      it('catches up on connect without marking the room read while the reader is not looking', async () => {
        // Prepare
        const asked: string[] = [];
        const fetch = (async (url: string | URL | Request) => {
          asked.push(String(url));
          return emptyHistory();
        }) as unknown as typeof globalThis.fetch;

        // Act
        const { client } = await liveClient({ fetch, isReading: () => false });

        // Assess
        expect(asked).toEqual([expect.stringMatching(/\/talk\/old\/r\/\?mark=0$/)]);
        client.close();
      });

      it('does not mark the room read while the reader is not looking, nor when asked explicitly', async () => {
        // Prepare
        const { counted, fetch } = countingHistory();
        const { client, socket } = await liveClient({ fetch, autoMarkRead: true, isReading: () => false });
        const connectCatchUp = counted.marks;

        // Act
        socket.receive(JSON.stringify({ ...message('1-0'), senderId: 'bob' }));
        client.markRead();
        await new Promise((done) => setTimeout(done, 10));

        // Assess
        expect(counted.marks - connectCatchUp).toBe(0);
        client.close();
      });
    });

    it('sends at most one typing frame per interval however often it is called', async () => {
      // Prepare
      let now = 1_000_000;
      const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
      const { client, socket } = await liveClient({ signals: true });
      const typing = () => socket.sent.filter((frame) => frame.includes('"typing"'));

      try {
        // Act: a keystroke every 100 ms for 5 seconds; the server acks the first notice.
        const sent: boolean[] = [];
        for (let elapsed = 0; elapsed < 5000; elapsed += 100) {
          now = 1_000_000 + elapsed;
          sent.push(client.sendTyping());
          if (elapsed === 0) {
            const { clientId } = JSON.parse(typing()[0]!) as { clientId: string };
            socket.receive(JSON.stringify({ type: 'ack', clientId }));
          }
        }

        // Assess: one at once (with a clientId until acked), then one each time the interval passed.
        expect(typing()).toEqual([
          expect.stringMatching(/^\{"type":"typing","clientId":"[^"]+"\}$/),
          '{"type":"typing"}',
          '{"type":"typing"}',
        ]);
        expect(sent.filter(Boolean)).toHaveLength(3);
        expect(sent.indexOf(true, 1) * 100).toBeGreaterThanOrEqual(TYPING_SEND_INTERVAL_MS);
        expect(TYPING_SEND_INTERVAL_MS).toBeGreaterThan(2000);
      } finally {
        clock.mockRestore();
        client.close();
      }
    });

    it('stops sending typing quietly when the server refuses it, without failing a pending send', async () => {
      // Prepare: a server without signals answers the typing frame with an error frame.
      const { client, socket, events } = await liveClient({ signals: true });
      const pending = client.send('still fine', { clientId: 'm1' });

      // Act
      client.sendTyping();
      const { clientId } = JSON.parse(socket.sent.at(-1)!) as { clientId: string };
      socket.receive(JSON.stringify({ ERROR: 'unknown message type: typing', clientId }));
      socket.receive('{"type":"ack","id":"9-0","clientId":"m1"}');
      const clock = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 60_000);
      const again = client.sendTyping();
      clock.mockRestore();

      // Assess
      await expect(pending).resolves.toEqual({ id: '9-0', clientId: 'm1' });
      expect(again).toBe(false);
      expect(events).toEqual([]);
      client.close();
    });

    it('sends no typing frame while the room is not live', () => {
      const client = new HipochatClient({ url: 'ws://127.0.0.1:1', room: 'r', token: 't' });
      expect(client.sendTyping()).toBe(false);
    });

    it('recognises its own typing notice, learns its user id from it and does not show it', async () => {
      // Prepare
      const { client, socket } = await liveClient({ signals: true });
      const typers: unknown[] = [];
      client.on('typing', (event) => typers.push(event.senderId));

      // Act
      client.sendTyping();
      const probe = JSON.parse(socket.sent.at(-1)!) as { type: string; clientId?: string };
      socket.receive(JSON.stringify({ type: 'ack', clientId: probe.clientId }));
      socket.receive(
        JSON.stringify({
          type: 'typing',
          room: 'r',
          author: profile('ann'),
          senderId: 'ann',
          clientId: probe.clientId,
        }),
      );
      socket.receive(JSON.stringify({ type: 'typing', room: 'r', author: profile('ann'), senderId: 'ann' }));
      socket.receive(JSON.stringify({ type: 'typing', room: 'r', author: profile('bob'), senderId: 'bob' }));

      // Assess
      expect(probe).toEqual({ type: 'typing', clientId: expect.any(String) });
      expect(client.userId).toBe('ann');
      expect(typers).toEqual(['bob']);
      client.close();
    });

    it('resolves a send the server acks without an id as ephemeral', async () => {
      const { client, socket } = await liveClient();
      const sent = client.send({ x: 1 }, { type: 'cursor', clientId: 'c' });
      socket.receive('{"type":"ack","clientId":"c"}');
      await expect(sent).resolves.toEqual({ id: '', clientId: 'c', ephemeral: true });
      client.close();
    });
  });

  describe('edits, deletes and reactions', () => {
    const edited = (at: number, by: string | null = 'ann') => ({ at, by });

    /** A history server over `messages`, which the test may change between answers. */
    function changingHistory(messages: Record<string, unknown>[]) {
      const requests: string[] = [];
      const fetch = (async (url: string | URL | Request) => {
        const query = new URL(String(url)).searchParams;
        requests.push(query.toString());
        const since = query.get('since');
        const page = messages.filter((m) => !since || compareIds(String(m.id), since) > 0);
        return new Response(
          JSON.stringify({ oldy: page, results: { read_messages: page, unread_messages: [] } }),
        );
      }) as typeof globalThis.fetch;
      return { fetch, requests };
    }

    it('sends edit, delete and react frames and resolves each on its ack', async () => {
      // Prepare
      const { client, socket } = await liveClient({ signals: true });

      // Act
      const edit = client.edit('5-0', 'fixed', { clientId: 'e' });
      const del = client.delete('6-0', { clientId: 'd' });
      const react = client.react('5-0', '👍', { clientId: 'r' });
      const refused = client.edit('7-0', 'not mine', { clientId: 'x' });
      socket.receive('{"type":"ack","id":"5-0","clientId":"e"}');
      socket.receive('{"type":"ack","id":"6-0","clientId":"d"}');
      socket.receive('{"type":"ack","id":"5-0","clientId":"r"}');
      socket.receive('{"ERROR":"you can only edit your own messages","clientId":"x"}');

      // Assess
      expect(socket.sent).toEqual([
        '{"type":"edit","id":"5-0","body":"fixed","clientId":"e"}',
        '{"type":"delete","id":"6-0","clientId":"d"}',
        '{"type":"react","id":"5-0","emoji":"👍","clientId":"r"}',
        '{"type":"edit","id":"7-0","body":"not mine","clientId":"x"}',
      ]);
      await expect(edit).resolves.toEqual({ id: '5-0', clientId: 'e' });
      await expect(del).resolves.toEqual({ id: '6-0', clientId: 'd' });
      await expect(react).resolves.toEqual({ id: '5-0', clientId: 'r' });
      await expect(refused).rejects.toThrow('you can only edit your own messages');
      client.close();
    });

    it('refuses an empty or over-size edit and an edit of a deleted message before sending', async () => {
      const { client, socket } = await liveClient({ signals: true, maxMessageBytes: 100 });
      socket.receive(JSON.stringify(message('1-0')));
      socket.receive(JSON.stringify({ type: 'delete', room: 'r', id: '1-0' }));
      await expect(client.edit('2-0', '')).rejects.toThrow('the message is empty');
      await expect(client.edit('2-0', 'x'.repeat(100))).rejects.toThrow(/message too large/);
      await expect(client.edit('1-0', 'back')).rejects.toThrow(/deleted/);
      await expect(client.react('2-0', '')).rejects.toThrow(/an emoji is required/);
      expect(socket.sent).toEqual([]);
      client.close();
    });

    it('applies live changes to the messages it has, once each, ignoring stale and repeated ones', async () => {
      // Prepare
      const { client, socket } = await liveClient({ signals: true });
      const seen: unknown[] = [];
      client.on('edit', (e) => seen.push(['edit', e.id, e.body, e.message?.body]));
      client.on('delete', (e) => seen.push(['delete', e.id, e.message?.deleted, e.message?.body]));
      client.on('reaction', (e) => seen.push(['reaction', e.id, e.reactions, e.message?.reactions]));
      socket.receive(JSON.stringify(message('1-0')));
      const thumbs = { '👍': { count: 1, users: ['bob'] } };

      // Act
      socket.receive(JSON.stringify({ type: 'edit', room: 'r', id: '1-0', body: 'v2', edited: edited(20) }));
      socket.receive(JSON.stringify({ type: 'edit', room: 'r', id: '1-0', body: 'v2', edited: edited(20) }));
      socket.receive(JSON.stringify({ type: 'edit', room: 'r', id: '1-0', body: 'v1', edited: edited(10) }));
      const bobReacts = {
        type: 'reaction',
        room: 'r',
        id: '1-0',
        emoji: '👍',
        user: 'bob',
        count: 1,
        added: true,
      };
      socket.receive(JSON.stringify(bobReacts));
      socket.receive(JSON.stringify(bobReacts));
      socket.receive(
        JSON.stringify({ type: 'edit', room: 'other', id: '1-0', body: 'x', edited: edited(30) }),
      );
      socket.receive(JSON.stringify({ type: 'delete', room: 'r', id: '1-0' }));
      socket.receive(JSON.stringify({ type: 'delete', room: 'r', id: '1-0' }));
      socket.receive(JSON.stringify({ type: 'edit', room: 'r', id: '1-0', body: 'v3', edited: edited(40) }));

      // Assess
      expect(seen).toEqual([
        ['edit', '1-0', 'v2', 'v2'],
        ['reaction', '1-0', thumbs, thumbs],
        ['delete', '1-0', true, undefined],
      ]);
      expect(client.getMessage('1-0')).toEqual({
        id: '1-0',
        type: 'message',
        room: 'r',
        token: 'r',
        timestamp: 1,
        author: null,
        body: undefined,
        deleted: true,
      });
      client.close();
    });

    it('applies a change past 20 listed users as a count, saying clipped, and drops an emoji at 0', async () => {
      const { client, socket } = await liveClient({ signals: true });
      const listed = Array.from({ length: 20 }, (_, n) => `u${n}`);
      socket.receive(
        JSON.stringify({ ...message('1-0'), reactions: { '🎉': { count: 20, users: listed } } }),
      );
      const change = (user: string, count: number, added: boolean) =>
        socket.receive(
          JSON.stringify({ type: 'reaction', room: 'r', id: '1-0', emoji: '🎉', user, count, added }),
        );
      change('u20', 21, true);
      expect(client.getMessage('1-0')?.reactions).toEqual({
        '🎉': { count: 21, users: listed, clipped: true },
      });
      change('u0', 20, false);
      expect(client.getMessage('1-0')?.reactions?.['🎉']).toMatchObject({ count: 20, clipped: true });
      expect(client.getMessage('1-0')?.reactions?.['🎉']?.users).not.toContain('u0');
      change('u1', 0, false);
      expect(client.getMessage('1-0')).not.toHaveProperty('reactions');
      client.close();
    });

    it('lists its own reaction past a full list in the last place, so a page can show it as yours', async () => {
      const { client, socket } = await liveClient({ signals: true });
      const listed = Array.from({ length: 20 }, (_, n) => `u${n}`);
      socket.receive(
        JSON.stringify({
          ...message('1-0'),
          reactions: { '🎉': { count: 30, users: listed, clipped: true } },
        }),
      );
      const toggled = client.react('1-0', '🎉', { clientId: 'mine' });
      socket.receive('{"type":"ack","id":"1-0","clientId":"mine"}');
      await toggled;
      socket.receive(
        JSON.stringify({
          type: 'reaction',
          room: 'r',
          id: '1-0',
          emoji: '🎉',
          user: 'me',
          count: 31,
          added: true,
        }),
      );
      expect(client.userId).toBe('me');
      expect(client.getMessage('1-0')?.reactions?.['🎉']).toEqual({
        count: 31,
        users: [...listed.slice(0, 19), 'me'],
        clipped: true,
      });
      client.close();
    });

    it('emits changes of messages it does not have, without a message', async () => {
      const { client, socket } = await liveClient({ signals: true });
      const seen: unknown[] = [];
      client.on('edit', (e) => seen.push(e));
      socket.receive(
        JSON.stringify({ type: 'edit', room: 'r', id: '9-0', body: 'b', edited: edited(1, null) }),
      );
      expect(seen).toEqual([{ room: 'r', id: '9-0', body: 'b', edited: edited(1, null) }]);
      client.close();
    });

    it('brings the messages it showed up to date after a reconnect, so no stale body stays', async () => {
      // Prepare: three messages shown, then the connection drops and they change meanwhile.
      const messages: Record<string, unknown>[] = [message('1-0'), message('2-0'), message('3-0')];
      const server = changingHistory(messages);
      const { client, socket } = await liveClient({
        fetch: server.fetch,
        refreshOnReconnect: 2,
        reconnect: { initialDelayMs: 1, maxDelayMs: 1 },
      });
      const seen: unknown[] = [];
      client.on('edit', (e) => seen.push(['edit', e.id, e.message?.body, e.message?.edited]));
      client.on('delete', (e) => seen.push(['delete', e.id]));
      client.on('reaction', (e) => seen.push(['reaction', e.id, e.reactions]));
      client.on('message', (m) => seen.push(['message', m.id]));
      messages[0] = { ...message('1-0'), body: 'too old to refresh', edited: edited(5) };
      messages[1] = {
        ...message('2-0'),
        body: 'v2',
        edited: edited(5),
        reactions: { '🎉': { count: 1, users: ['ann'] } },
      };
      messages[2] = { ...message('3-0'), body: undefined, deleted: true };
      messages.push(message('4-0'));

      // Act
      const live = new Promise<void>((resolve) => {
        const off = client.on('state', (change) => {
          if (change.state === 'live') {
            off();
            resolve();
          }
        });
      });
      socket.onclose?.({ code: 1006, reason: '' });
      await live;

      // Assess: the two newest seen come again (since just before 2-0), changed ones are emitted.
      expect(server.requests).toEqual(['', 'since=1-9999999999999999']);
      expect(seen).toEqual([
        ['edit', '2-0', 'v2', edited(5)],
        ['reaction', '2-0', { '🎉': { count: 1, users: ['ann'] } }],
        ['delete', '3-0'],
        ['message', '4-0'],
      ]);
      expect(client.getMessage('1-0')?.body).toBe('1-0');
      client.close();
    });

    it('keeps a live change over an older history answer that was on its way', async () => {
      // Prepare: a history answer fetched before bob's reaction arrives after it.
      const messages: Record<string, unknown>[] = [message('1-0')];
      let hold: Promise<void> | undefined;
      const server = changingHistory(messages);
      const fetch = (async (url: string | URL | Request) => {
        const answer = await server.fetch(url);
        await hold;
        return answer;
      }) as typeof globalThis.fetch;
      const { client, socket } = await liveClient({ signals: true, fetch });
      let release: () => void = () => {};
      hold = new Promise<void>((resolve) => {
        release = resolve;
      });
      const thumbs = { '👍': { count: 1, users: ['bob'] } };

      // Act
      const caught = client.catchUp();
      socket.receive(
        JSON.stringify({
          type: 'reaction',
          room: 'r',
          id: '1-0',
          emoji: '👍',
          user: 'bob',
          count: 1,
          added: true,
        }),
      );
      release();
      await caught;

      // Assess
      expect(client.getMessage('1-0')?.reactions).toEqual(thumbs);
      client.close();
    });

    it('learns its user id from the reaction frame that answers its own toggle', async () => {
      const { client, socket } = await liveClient({ signals: true });
      const selves: string[] = [];
      client.on('self', (id) => selves.push(id));
      socket.receive(JSON.stringify(message('1-0')));
      socket.receive(
        JSON.stringify({
          type: 'reaction',
          room: 'r',
          id: '1-0',
          emoji: '🎉',
          user: 'bob',
          count: 1,
          added: true,
        }),
      );
      const toggled = client.react('1-0', '🎉', { clientId: 'r1' });
      socket.receive('{"type":"ack","id":"1-0","clientId":"r1"}');
      await toggled;
      socket.receive(
        JSON.stringify({
          type: 'reaction',
          room: 'r',
          id: '1-0',
          emoji: '🎉',
          user: 'ann',
          count: 2,
          added: true,
        }),
      );
      expect(client.getMessage('1-0')?.reactions).toEqual({ '🎉': { count: 2, users: ['bob', 'ann'] } });
      expect(selves).toEqual(['ann']);
      expect(client.userId).toBe('ann');
      client.close();
    });

    it('applies changes that arrive during the catch-up on top of its answer', async () => {
      // Prepare: the history answer waits until the test lets it go.
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const fetch = (async () => {
        await gate;
        return new Response(
          JSON.stringify({ oldy: [message('1-0')], results: { read_messages: [], unread_messages: [] } }),
        );
      }) as typeof globalThis.fetch;
      const client = new HipochatClient({
        url: 'ws://127.0.0.1:1',
        room: 'r',
        token: 't',
        WebSocket: FakeSocket,
        fetch,
        keepAliveMs: 0,
        signals: true,
      });
      const order: string[] = [];
      client.on('message', (m) => order.push(`message ${m.id} ${String(m.body)}`));
      client.on('edit', (e) => order.push(`edit ${e.id} ${String(e.message?.body)}`));
      const connected = client.connect(5000);
      await new Promise((resolve) => setTimeout(resolve, 5));

      // Act
      FakeSocket.last!.receive(
        JSON.stringify({ type: 'edit', room: 'r', id: '1-0', body: 'new', edited: edited(9) }),
      );
      release();
      await connected;

      // Assess
      expect(order).toEqual(['message 1-0 1-0', 'edit 1-0 new']);
      expect(client.getMessage('1-0')?.body).toBe('new');
      client.close();
    });
  });
});

describe('HipochatHttp signals', () => {
  /** A fetch that records each request and answers `answer` with `status`. */
  function recordingFetch(answer: unknown, status = 200) {
    const calls: { url: string; method: string; authorization?: string; body?: unknown }[] = [];
    const doFetch = (async (url: string, init: RequestInit) => {
      const headers = init.headers as Record<string, string>;
      calls.push({
        url,
        method: String(init.method),
        authorization: headers.authorization,
        ...(init.body ? { body: JSON.parse(String(init.body)) } : {}),
      });
      return new Response(JSON.stringify(answer), { status });
    }) as unknown as typeof fetch;
    return { calls, doFetch };
  }

  it.each([
    ['presence', (http: HipochatHttp) => http.presence('lobby'), 'GET', '/talk/presence/lobby/'],
    ['receipts', (http: HipochatHttp) => http.receipts('lobby'), 'GET', '/talk/receipts/lobby/'],
  ])('asks for %s of a room with the user token', async (_what, call, method, path) => {
    const { calls, doFetch } = recordingFetch({ room: 'lobby' });
    const http = new HipochatHttp({ httpUrl: 'http://h:1', token: 'ann', fetch: doFetch });
    await expect(call(http)).resolves.toEqual({ room: 'lobby' });
    expect(calls).toEqual([{ url: `http://h:1${path}`, method, authorization: 'Token ann' }]);
  });
});
