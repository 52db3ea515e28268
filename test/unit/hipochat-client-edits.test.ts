import { compareIds, HipochatClient } from '@hipochat/client';
import { FakeSocket } from '../support/fake-socket.js';
import { liveClient, message } from '../support/live-client.js';

describe('HipochatClient frames', () => {
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
