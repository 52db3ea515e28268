import { keys } from '../../lambdas/core/store/redis-keys.js';
import {
  type ConnectionsProxy,
  type OwnRedis,
  type ProxiedChat,
  redisCli,
  startProxiedChat,
  TrafficCounter,
} from '../support/faults.js';
import type { ChatEndpoints } from '../support/gateway.js';
import { recordScenario } from '../support/reliability-report.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';

jest.setTimeout(120_000);

/** Connection id of each user in `room`, from the connection records in Redis. */
async function connectionIds(port: number, room: string): Promise<Map<string, string>> {
  const flat = (await redisCli(port, 'hgetall', keys.conns(room))).split('\n').filter(Boolean);
  const byUser = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) byUser.set(flat[i + 1]!, flat[i]!);
  return byUser;
}

describe('stale connections', () => {
  let redis: OwnRedis;
  let proxy: ConnectionsProxy;
  let chat: ChatEndpoints;
  let stack: ProxiedChat | undefined;
  const room = uniqueRoom('stale');
  const traffic = new TrafficCounter('st');
  let live: TestSocket[] = [];
  let vanished = '';
  const expired = 'expiredGhost0000=';

  beforeAll(async () => {
    stack = await startProxiedChat();
    ({ redis, proxy, chat } = stack);
    const [alice, bob, carol] = await Promise.all(
      ['alice', 'bob', 'carol'].map((user) => openSocket(`${chat.wsUrl}/?room=${room}&token=${user}`)),
    );
    live = [alice!, bob!];
    vanished = (await connectionIds(redis.port, room)).get('carol')!;

    // Carol's device drops off the network: the TCP socket dies, and API Gateway never runs
    // $disconnect (best effort). The local gateway does run it, so its record is put back as it was.
    carol!.ws.terminate();
    await carol!.closed;
    const expiresAt = Date.now() + 3 * 3600 * 1000;
    for (let i = 0; i < 50 && (await connectionIds(redis.port, room)).has('carol'); i += 1) {
      await new Promise((done) => setTimeout(done, 20));
    }
    await redisCli(redis.port, 'hset', keys.conns(room), vanished, 'carol');
    await redisCli(redis.port, 'zadd', keys.expiry(room), String(expiresAt), vanished);
    // A record whose TTL ran out long ago and was never cleaned up.
    await redisCli(redis.port, 'hset', keys.conns(room), expired, 'dave');
    await redisCli(redis.port, 'zadd', keys.expiry(room), String(Date.now() - 1000), expired);

    for (let i = 0; i < 5; i += 1) await traffic.send(live[i % 2]!, `after carol left ${i}`);
    await traffic.waitUntilDelivered(live, () => chat.output());
  });

  afterAll(async () => {
    await Promise.all(live.map((socket) => socket.close()));
    await stack?.stop();
  });

  it("still delivers to the room's other members", () => {
    expect(traffic.tally(live).lost).toBe(0);
  });

  it('removes a vanished connection on the first 410 and posts to it no more', async () => {
    const posts = proxy.seen.filter((p) => p.connectionId === vanished);
    expect(posts).toHaveLength(1);
    expect((await connectionIds(redis.port, room)).has('carol')).toBe(false);
  });

  it('prunes records whose TTL ran out without posting to them', async () => {
    expect(proxy.seen.filter((p) => p.connectionId === expired)).toEqual([]);
    expect((await connectionIds(redis.port, room)).has('dave')).toBe(false);
    expect(await redisCli(redis.port, 'zscore', keys.expiry(room), expired)).toBe('');
  });

  it('gives every connection record a TTL beyond the 2 h connection life', async () => {
    const ids = [...(await connectionIds(redis.port, room)).values()];
    expect(ids).toHaveLength(2);
    for (const id of ids) {
      const ttl = Number(await redisCli(redis.port, 'ttl', keys.connection(id)));
      expect(ttl).toBeGreaterThan(2 * 3600);
      expect(ttl).toBeLessThanOrEqual(3 * 3600);
      expect(Number(await redisCli(redis.port, 'zscore', keys.expiry(room), id))).toBeGreaterThan(
        Date.now() + 2 * 3600 * 1000,
      );
    }
    const tally = traffic.tally(live);
    recordScenario({
      order: 5,
      scenario: 'Stale connections',
      injected:
        'one of 3 sockets killed at the TCP level with its record left behind (no $disconnect), plus a record whose TTL ran out',
      sent: traffic.sent,
      acknowledged: traffic.acked.size,
      delivered: tally.delivered,
      duplicated: tally.duplicated,
      lost: tally.lost,
      result: 'pass: one post to the dead socket (410), its record removed; expired record pruned unposted',
    });
  });
});
