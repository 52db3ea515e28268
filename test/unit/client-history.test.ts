import {
  type ChatMessage,
  compareIds,
  HipochatClient,
  HipochatHttp,
  type HistoryBatch,
} from '@hipochat/client';

/** A socket that opens at once and never says anything: these tests are about HTTP history. */
class QuietSocket {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  constructor(readonly url: string) {
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }
  send(): void {}
  close(): void {
    this.readyState = 3;
  }
}

const message = (id: string): ChatMessage => ({
  id,
  type: 'message',
  room: 'r',
  token: 'r',
  timestamp: 1,
  body: id,
  author: null,
});

/**
 * `GET /talk/old/r/` over `ids` as the server pages it: the newest `limit` messages between
 * `since` and `before`, at most `fit` of them (the answer budget).
 */
function historyServer(ids: string[], options: { fit?: number } = {}) {
  const requests: string[] = [];
  const fetch = (async (url: string | URL | Request) => {
    const query = new URL(String(url)).searchParams;
    requests.push(query.toString());
    const since = query.get('since');
    const before = query.get('before');
    const limit = Number(query.get('limit') ?? Number.POSITIVE_INFINITY);
    const matching = ids.filter(
      (id) => (!since || compareIds(id, since) > 0) && (!before || compareIds(id, before) < 0),
    );
    const page = matching.slice(-Math.min(limit, options.fit ?? Number.POSITIVE_INFINITY));
    return new Response(
      JSON.stringify({
        oldy: page.map(message),
        results: { read_messages: page.map(message), unread_messages: [] },
        page: { more: matching.length > page.length, before: page[0] ?? null },
      }),
    );
  }) as typeof globalThis.fetch;
  return { fetch, requests };
}

async function connected(fetch: typeof globalThis.fetch, pageSize?: number) {
  const client = new HipochatClient({
    url: 'ws://127.0.0.1:1',
    room: 'r',
    token: 't',
    WebSocket: QuietSocket,
    fetch,
    keepAliveMs: 0,
    ...(pageSize ? { pageSize } : {}),
  });
  const shown: string[] = [];
  const batches: Pick<HistoryBatch, 'initial' | 'earlier' | 'more'>[] = [];
  client.on('message', (m) => shown.push(m.id));
  client.on('history', ({ initial, earlier, more }) => batches.push({ initial, earlier, more }));
  await client.connect(5000);
  return { client, shown, batches };
}

describe('HipochatClient.loadEarlier', () => {
  it('loads the pages before the oldest message, oldest first, until the server has no more', async () => {
    // Prepare
    const server = historyServer(['1-0', '2-0', '3-0', '4-0', '5-0', '6-0', '7-0']);
    const { client, shown, batches } = await connected(server.fetch, 3);
    const atFirst = [...shown];

    // Act
    const second = await client.loadEarlier();
    const third = await client.loadEarlier();
    const none = await client.loadEarlier();

    // Assess
    expect(atFirst).toEqual(['5-0', '6-0', '7-0']);
    expect(second.map((m) => m.id)).toEqual(['2-0', '3-0', '4-0']);
    expect(third.map((m) => m.id)).toEqual(['1-0']);
    expect(none).toEqual([]);
    expect(shown).toEqual(['5-0', '6-0', '7-0', '2-0', '3-0', '4-0', '1-0']);
    expect(client.hasEarlier).toBe(false);
    expect(client.firstMessageId).toBe('1-0');
    expect(batches).toEqual([
      { initial: true, earlier: false, more: true },
      { initial: false, earlier: true, more: true },
      { initial: false, earlier: true, more: false },
    ]);
    expect(server.requests).toEqual(['limit=3', 'before=5-0&limit=3', 'before=2-0&limit=3']);
    client.close();
  });

  it('shares one request between concurrent calls', async () => {
    const server = historyServer(['1-0', '2-0', '3-0']);
    const { client } = await connected(server.fetch, 1);
    const [a, b] = await Promise.all([client.loadEarlier(), client.loadEarlier()]);
    expect(a).toBe(b);
    expect(server.requests).toEqual(['limit=1', 'before=3-0&limit=1']);
    client.close();
  });

  it('asks for nothing when the first catch-up held the whole history', async () => {
    const server = historyServer(['1-0', '2-0']);
    const { client } = await connected(server.fetch);
    expect(client.hasEarlier).toBe(false);
    expect(await client.loadEarlier()).toEqual([]);
    expect(server.requests).toEqual(['']);
    client.close();
  });
});

describe('HipochatClient.catchUp', () => {
  it('fills the gap page by page when the server cut a catch-up to its answer budget', async () => {
    // Prepare: two messages seen, then five more than one answer holds.
    const ids = ['1-0', '2-0'];
    const server = historyServer(ids, { fit: 2 });
    const { client, shown } = await connected(server.fetch);
    ids.push('3-0', '4-0', '5-0', '6-0', '7-0');

    // Act
    const caught = await client.catchUp();

    // Assess
    expect(caught.map((m) => m.id)).toEqual(['3-0', '4-0', '5-0', '6-0', '7-0']);
    expect(shown).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0', '6-0', '7-0']);
    expect(server.requests.slice(1)).toEqual(['since=2-0', 'since=2-0&before=6-0', 'since=2-0&before=4-0']);
    client.close();
  });
});

describe('HipochatHttp.old', () => {
  it.each([
    [{}, ''],
    ['5-0', 'since=5-0'],
    [{ before: '5-0', limit: 20 }, 'before=5-0&limit=20'],
    [{ since: '1-0', before: '5-0' }, 'since=1-0&before=5-0'],
  ])('asks for %j with the query %j', async (query, search) => {
    const server = historyServer([]);
    await new HipochatHttp({ httpUrl: 'http://127.0.0.1:1', token: 't', fetch: server.fetch }).old(
      'r',
      query,
    );
    expect(server.requests).toEqual([search]);
  });
});

describe('HipochatClient.frameBytes', () => {
  it('counts the whole frame the server measures, a generated clientId as a UUID', () => {
    const client = new HipochatClient({ url: 'ws://127.0.0.1:1', room: 'r', token: 't' });
    // {"type":"message","body":"é","clientId":"<36>"}
    expect(client.frameBytes('é')).toBe(26 + 2 + 14 + 36 + 2);
    expect(client.frameBytes('é', { clientId: 'c-1' })).toBe(26 + 2 + 14 + 3 + 2);
  });
});
