import { backoffDelay, compareIds, HipochatClient, httpUrlFromWs, utf8Length } from '@hipochat/client';
import { liveClient, message } from '../support/live-client.js';

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
});
