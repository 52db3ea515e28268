import { HipochatClient, HipochatHttp, TYPING_SEND_INTERVAL_MS } from '@hipochat/client';
import { emptyHistoryFetch } from '../support/fake-socket.js';
import { liveClient, message } from '../support/live-client.js';
import { recordingFetch } from '../support/recording-fetch.js';

describe('HipochatClient frames', () => {
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
        const fetch = (async (url: string | URL | Request) => {
          counted.marks += 1;
          return emptyHistoryFetch(url);
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
          return emptyHistoryFetch(url);
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
});

describe('HipochatHttp signals', () => {
  it.each([
    ['presence', (http: HipochatHttp) => http.presence('lobby'), 'GET', '/talk/presence/lobby/'],
    ['receipts', (http: HipochatHttp) => http.receipts('lobby'), 'GET', '/talk/receipts/lobby/'],
  ])('asks for %s of a room with the user token', async (_what, call, method, path) => {
    const { calls, doFetch } = recordingFetch({ body: { room: 'lobby' } });
    const http = new HipochatHttp({ httpUrl: 'http://h:1', token: 'ann', fetch: doFetch });
    await expect(call(http)).resolves.toEqual({ room: 'lobby' });
    expect(calls).toEqual([{ url: `http://h:1${path}`, method, authorization: 'Token ann' }]);
  });
});
