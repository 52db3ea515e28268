import { CloseCode, Connection, HipochatClient, type LinkChange, TRANSITIONS } from '@hipochat/client';
import { emptyHistoryFetch, FakeSocket } from '../support/fake-socket.js';
import { eventually } from '../support/wait.js';

function connection(options: Partial<ConstructorParameters<typeof Connection>[0]> = {}) {
  const link = new Connection({
    socketUrl: async () => 'ws://127.0.0.1:1/?room=r',
    WebSocket: FakeSocket,
    keepAliveMs: 0,
    reconnect: { initialDelayMs: 1, maxDelayMs: 2 },
    ...options,
  });
  const changes: LinkChange[] = [];
  link.on('state', (change) => changes.push(change));
  return { link, changes };
}

describe('Connection', () => {
  beforeEach(() => FakeSocket.reset());

  it('declares every transition, and closed is the end', () => {
    expect(TRANSITIONS).toEqual({
      idle: ['connecting', 'closed'],
      connecting: ['open', 'waiting', 'closed'],
      open: ['waiting', 'closed'],
      waiting: ['connecting', 'closed'],
      closed: [],
    });
  });

  it('goes connecting, open, and on a lost socket waits and opens again with code 100', async () => {
    const { link, changes } = connection();
    link.start();
    await eventually(() => link.state === 'open', 'the connection to be open');
    FakeSocket.last.drop(1006, '');
    await eventually(() => FakeSocket.all.length === 2, 'a second socket');
    await eventually(() => link.state === 'open', 'the connection to be open');
    expect(changes.map((c) => [c.state, c.code])).toEqual([
      ['connecting', undefined],
      ['open', undefined],
      ['waiting', CloseCode.ConnectionLost],
      ['connecting', undefined],
      ['open', undefined],
    ]);
    link.close();
  });

  it.each([
    [1000, 'unsubscribed'],
    [1008, 'policy'],
  ])('stops for good when the server closes with the final code %i', async (code, reason) => {
    const { link, changes } = connection();
    link.start();
    await eventually(() => link.state === 'open', 'the connection to be open');
    FakeSocket.last.drop(code, reason);
    expect(changes.at(-1)).toEqual(
      expect.objectContaining({
        state: 'closed',
        code: CloseCode.ServerClosed,
        reason: `closed by server: ${reason}`,
      }),
    );
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('gives up after maxAttempts failed attempts with code 204', async () => {
    FakeSocket.refuse = true;
    const { link, changes } = connection({ reconnect: { initialDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 } });
    link.start();
    await eventually(() => link.state === 'closed', 'the connection to be closed');
    expect(changes.filter((c) => c.state === 'waiting').map((c) => c.code)).toEqual([
      CloseCode.ConnectFailed,
      CloseCode.ConnectFailed,
    ]);
    expect(changes.at(-1)).toEqual(expect.objectContaining({ state: 'closed', code: CloseCode.GaveUp }));
  });

  it('ends with code 202 and an auth error when the refusal check says so', async () => {
    FakeSocket.refuse = true;
    const { link, changes } = connection({
      refusal: async () => 'authentication error: the token was refused',
    });
    const errors: string[] = [];
    link.on('error', (error) => errors.push(`${error.kind}: ${error.message}`));
    link.start();
    await eventually(() => link.state === 'closed', 'the connection to be closed');
    expect(changes.at(-1)).toEqual(expect.objectContaining({ code: CloseCode.Refused }));
    expect(errors).toEqual(['auth: authentication error: the token was refused']);
  });

  it('closes through the same path from any state: the socket closes, pending sends fail, no retry follows', async () => {
    const { link, changes } = connection();
    link.start();
    await eventually(() => link.state === 'open', 'the connection to be open');
    const pending = link.send('{"type":"message","body":"x","clientId":"c1"}', 'c1');
    link.close();
    await expect(pending).rejects.toThrow(/the client closed/);
    expect(FakeSocket.last.closedWith).toEqual({ code: 1000, reason: 'client closed' });
    expect(changes.at(-1)).toEqual(
      expect.objectContaining({ state: 'closed', code: CloseCode.ClientClosed }),
    );
    link.close();
    expect(changes.filter((c) => c.state === 'closed')).toHaveLength(1);
  });

  it('ends with code 203 when there is no WebSocket implementation', async () => {
    const { link, changes } = connection({ WebSocket: undefined });
    const original = (globalThis as { WebSocket?: unknown }).WebSocket;
    (globalThis as { WebSocket?: unknown }).WebSocket = undefined;
    try {
      link.start();
      await eventually(() => link.state === 'closed', 'the connection to be closed');
    } finally {
      (globalThis as { WebSocket?: unknown }).WebSocket = original;
    }
    expect(changes.at(-1)).toEqual(expect.objectContaining({ code: CloseCode.NoWebSocket }));
  });
});

describe('HipochatClient memory over a long session', () => {
  beforeEach(() => FakeSocket.reset());

  it('stays bounded after 100,000 typing notices and 100,000 messages', async () => {
    const client = new HipochatClient({
      url: 'ws://127.0.0.1:1',
      room: 'r',
      token: 't',
      WebSocket: FakeSocket,
      fetch: emptyHistoryFetch,
      keepAliveMs: 0,
      signals: true,
      timelineCap: 500,
    });
    let typing = 0;
    let messages = 0;
    client.on('typing', () => {
      typing += 1;
    });
    client.on('message', () => {
      messages += 1;
    });
    await client.connect(5000);
    const socket = FakeSocket.last;
    for (let n = 0; n < 100_000; n += 1) {
      socket.receive({ type: 'typing', room: 'r', author: { id: 'bo' }, senderId: 'bo', clientId: `t${n}` });
      socket.receive({
        id: `${1_700_000_000_000 + n}-0`,
        type: 'message',
        room: 'r',
        token: 'r',
        timestamp: n,
        body: `m${n}`,
        author: { id: 'bo' },
        senderId: 'bo',
        clientId: `c${n}`,
      });
      if (n % 1000 === 0) client.sendTyping();
    }
    expect({ typing, messages }).toEqual({ typing: 100_000, messages: 100_000 });
    const memory = client.memory;
    expect(memory.messages).toBe(500);
    expect(memory.changes).toBeLessThanOrEqual(500);
    expect(memory.ownClientIds).toBeLessThanOrEqual(512);
    expect(memory.typingClientIds).toBeLessThanOrEqual(8);
    expect(memory.reactProbes).toBe(0);
    expect(memory.pending).toBe(0);
    client.close();
  });
});
