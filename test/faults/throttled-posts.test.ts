import {
  type ConnectionsProxy,
  type ProxiedChat,
  seeded,
  startProxiedChat,
  TrafficCounter,
} from '../support/faults.js';
import type { ChatEndpoints } from '../support/gateway.js';
import { recordScenario } from '../support/reliability-report.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';

jest.setTimeout(120_000);

describe('PostToConnection answering 429 and 500 intermittently', () => {
  let proxy: ConnectionsProxy;
  let chat: ChatEndpoints;
  let stack: ProxiedChat | undefined;
  const room = uniqueRoom('throttled');
  const traffic = new TrafficCounter('th');
  const sockets: TestSocket[] = [];
  const injected = { 429: 0, 500: 0 };

  beforeAll(async () => {
    stack = await startProxiedChat();
    ({ proxy, chat } = stack);
    for (let i = 0; i < 6; i += 1) {
      sockets.push(await openSocket(`${chat.wsUrl}/?room=${room}&token=member${i}`));
    }
    // About a third of the posts are refused, never more than three in a row for one connection,
    // so the sender's own retries (five attempts, capped backoff) always get through.
    const random = seeded(7);
    const streak = new Map<string, number>();
    proxy.decide = (post) => {
      const run = streak.get(post.connectionId) ?? 0;
      if (run < 3 && random() < 0.35) {
        streak.set(post.connectionId, run + 1);
        const status = random() < 0.5 ? 429 : 500;
        injected[status] += 1;
        return status;
      }
      streak.set(post.connectionId, 0);
      return 'pass';
    };
    const sender = async (socket: TestSocket, name: string) => {
      for (let i = 0; i < 25; i += 1) await traffic.send(socket, `${name} ${i}`);
    };
    await Promise.all([sender(sockets[0]!, 'first'), sender(sockets[1]!, 'second')]);
    await traffic.waitUntilDelivered(sockets, () => chat.output());
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.close()));
    await stack?.stop();
  });

  it('retries each refused post until it is delivered, so nothing is lost', () => {
    expect(injected[429]).toBeGreaterThan(0);
    expect(injected[500]).toBeGreaterThan(0);
    expect(traffic.acked.size).toBe(traffic.sent);
    expect(traffic.tally(sockets).lost).toBe(0);
  });

  it('finishes every batch without a redelivery', () => {
    const tally = traffic.tally(sockets);
    expect(tally.duplicated).toBe(0);
    recordScenario({
      order: 6,
      scenario: 'PostToConnection 429/500',
      injected: `${injected[429]} × 429 and ${injected[500]} × 500 among ${proxy.seen.length} posts (seeded, ≤ 3 in a row per connection), 6 sockets`,
      sent: traffic.sent,
      acknowledged: traffic.acked.size,
      delivered: tally.delivered,
      duplicated: tally.duplicated,
      lost: tally.lost,
      result: 'pass: retried with capped backoff inside the batch; no batch failed or was redelivered',
    });
  });
});
