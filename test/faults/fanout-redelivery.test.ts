import amqp from 'amqplib';
import { busNames } from '../../lambdas/core/bus/topology.js';
import type { ChatMessage } from '../../protocol/index.js';
import {
  type ConnectionsProxy,
  messageFrames,
  type ProxiedChat,
  startProxiedChat,
  TrafficCounter,
} from '../support/faults.js';
import { AMQP_URL, type ChatEndpoints, deleteNamespace, testNamespace } from '../support/gateway.js';
import { recordScenario } from '../support/reliability-report.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';
import { eventually, pause } from '../support/wait.js';

jest.setTimeout(120_000);

const DELIVERY_LIMIT = 3;
const SHARDS = 2;

/** Messages waiting in the dead-letter queue of `namespace` (read and removed). */
async function deadLetters(namespace: string): Promise<ChatMessage[]> {
  const connection = await amqp.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    const found: ChatMessage[] = [];
    for (let i = 0; i < 1000; i += 1) {
      const message = await channel.get(busNames(namespace).deadLetterQueue, { noAck: true });
      if (!message) break;
      found.push(JSON.parse(message.content.toString()) as ChatMessage);
    }
    return found;
  } finally {
    await connection.close();
  }
}

describe('fan-out redelivery', () => {
  const namespace = testNamespace();
  let proxy: ConnectionsProxy;
  let chat: ChatEndpoints;
  let stack: ProxiedChat | undefined;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    stack = await startProxiedChat({
      HIPOCHAT_AMQP_NAMESPACE: namespace,
      HIPOCHAT_FANOUT_SHARDS: String(SHARDS),
      HIPOCHAT_DELIVERY_LIMIT: String(DELIVERY_LIMIT),
    });
    ({ proxy, chat } = stack);
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.close()));
    await stack?.stop();
    await deleteNamespace(namespace, SHARDS);
  });

  const join = async (room: string, users: string[]) => {
    const joined: TestSocket[] = [];
    for (const user of users) joined.push(await openSocket(`${chat.wsUrl}/?room=${room}&token=${user}`));
    sockets.push(...joined);
    return joined;
  };

  describe('a batch that fails half-way', () => {
    it('delivers what failed again to the connection that missed it only: each recipient gets each message once', async () => {
      const room = uniqueRoom('halfway');
      const members = await join(room, ['ann', 'ben', 'cid', 'dee']);
      const traffic = new TrafficCounter('hw');
      // The third connection a post goes to fails five times in a row: the sender's retries are
      // spent half-way through the batch, which fails and comes back.
      const order: string[] = [];
      let injected = 0;
      proxy.decide = (post) => {
        if (!post.body.includes(room)) return 'pass';
        if (!order.includes(post.connectionId)) order.push(post.connectionId);
        if (post.connectionId === order[2] && injected < 5) {
          injected += 1;
          return 500;
        }
        return 'pass';
      };
      for (let i = 0; i < 10; i += 1) await traffic.send(members[i % 2]!, `halfway ${i}`);
      await traffic.waitUntilDelivered(members, () => chat.output());
      await pause(500);
      const tally = traffic.tally(members);
      const passed = proxy.seen.filter((p) => p.body.includes(room) && !p.injected).length;

      expect(injected).toBe(5);
      expect(tally.lost).toBe(0);
      // The message went round again, to one connection: no copy anywhere, every post a delivery.
      expect(tally.duplicated).toBe(0);
      expect(passed).toBe(traffic.sent * members.length);
      for (const socket of members) {
        const ids = messageFrames(socket).map((f) => f.id as string);
        expect(ids.sort()).toEqual([...traffic.ackedIds()].sort());
      }
      recordScenario({
        order: 3,
        scenario: 'Fan-out batch fails half-way',
        injected: `PostToConnection answers 500 five times in a row for one of 4 connections (the sender's retries are spent mid-batch); ${passed} posts went through in all`,
        sent: traffic.sent,
        acknowledged: traffic.acked.size,
        delivered: tally.delivered,
        duplicated: tally.duplicated,
        lost: tally.lost,
        result:
          'pass: the failed message went round again to the one connection that missed it (its id in the AMQP headers); no recipient got a copy, no dedupe needed',
      });
    });
  });

  describe('a poison message', () => {
    it('ends in the dead-letter queue after the delivery limit while the queue keeps flowing', async () => {
      const room = uniqueRoom('poison');
      const members = await join(room, ['eve', 'fay']);
      const traffic = new TrafficCounter('px');
      // Every post of the poison message fails, however often it is tried.
      proxy.decide = (post) => (post.body.includes('POISON') ? 500 : 'pass');

      const poison = await traffic.send(members[0]!, 'POISON');
      expect(poison.acked).toBe(true);
      const healthy = new TrafficCounter('ok');
      // Back to back, so they share batches with the poison message while it is being retried.
      for (let i = 0; i < 12; i += 1) await healthy.send(members[i % 2]!, `healthy ${i}`);

      let dead: ChatMessage[] = [];
      await eventually(
        async () => {
          dead.push(...(await deadLetters(namespace)));
          return dead.some((m) => m.body === 'POISON');
        },
        'the poison message in the dead-letter queue',
        40_000,
      );
      await healthy.waitUntilDelivered(members, () => chat.output());
      dead = dead.filter((m) => m.room === room);
      const tally = healthy.tally(members);
      const attempts = proxy.seen.filter((p) => p.body.includes('POISON')).length;

      expect(dead.map((m) => m.body)).toEqual(['POISON']);
      expect(tally.lost).toBe(0);
      recordScenario({
        order: 4,
        scenario: 'Poison message',
        injected: `every PostToConnection of one message answers 500 (delivery limit ${DELIVERY_LIMIT}); 12 healthy messages follow back to back in the same room; ${attempts} posts of the poison tried`,
        sent: traffic.sent + healthy.sent,
        acknowledged: traffic.acked.size + healthy.acked.size,
        delivered: tally.delivered,
        duplicated: tally.duplicated,
        lost: tally.lost,
        result: `pass: only the poison message is dead-lettered; all ${healthy.acked.size} healthy messages delivered (before the fix, healthy messages batched with it were dead-lettered too)`,
      });
    });
  });
});
