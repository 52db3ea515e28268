import amqp from 'amqplib';
import type { BatchHandler, BatchSource, ChatBus, Delivery } from '../../lambdas/core/bus/chat-bus.js';
import { MemoryBus } from '../../lambdas/core/bus/memory-bus.js';
import { RabbitMqBus } from '../../lambdas/core/bus/rabbitmq-bus.js';
import { busNames, routingKey, shardOf, signalRoutingKey } from '../../lambdas/core/bus/topology.js';
import { ServiceUnavailableError } from '../../lambdas/core/errors.js';
import { digestFlush, isSignal, signalEnvelope } from '../../lambdas/core/signals.js';
import { MqPoller } from '../../local/mq-poller.js';
import type { ChatMessage } from '../../protocol/index.js';
import { AMQP_URL, deleteNamespace, testNamespace } from '../support/gateway.js';
import { chatMessage } from '../support/messages.js';
import { eventually } from '../support/wait.js';

const SHARDS = 4;
const DELIVERY_LIMIT = 3;

const decode = (delivery: Delivery) => JSON.parse(delivery.body.toString()) as ChatMessage;

interface Harness {
  bus: ChatBus;
  source: BatchSource;
  /** Bodies that reached the dead-letter queue. */
  deadLetters(): Promise<ChatMessage[]>;
  close(): Promise<void>;
}

async function rabbitHarness(): Promise<Harness> {
  const namespace = testNamespace();
  const options = { url: AMQP_URL, shards: SHARDS, deliveryLimit: DELIVERY_LIMIT, namespace };
  const bus = new RabbitMqBus(options);
  const source = new MqPoller({ ...options, batchSize: 10, batchWindowMs: 5 });
  return {
    bus,
    source,
    async deadLetters() {
      const connection = await amqp.connect(AMQP_URL);
      const channel = await connection.createChannel();
      const found: ChatMessage[] = [];
      for (;;) {
        const message = await channel.get(busNames(namespace).deadLetterQueue, { noAck: true });
        if (!message) break;
        found.push(JSON.parse(message.content.toString()) as ChatMessage);
      }
      await connection.close();
      return found;
    },
    async close() {
      await source.stop();
      await bus.close();
      await deleteNamespace(namespace, SHARDS);
    },
  };
}

async function memoryHarness(): Promise<Harness> {
  const bus = new MemoryBus(SHARDS, DELIVERY_LIMIT, 10);
  return {
    bus,
    source: bus,
    deadLetters: async () => bus.deadLetters.map((body) => JSON.parse(body.toString()) as ChatMessage),
    close: () => bus.close(),
  };
}

describe('room sharding', () => {
  it('always sends a room to the same shard, and spreads rooms over all shards', () => {
    expect(shardOf('lobby', SHARDS)).toBe(shardOf('lobby', SHARDS));
    const used = new Set(Array.from({ length: 100 }, (_, i) => shardOf(`room-${i}`, SHARDS)));
    expect(used.size).toBe(SHARDS);
    expect(routingKey('lobby', SHARDS)).toBe(`${shardOf('lobby', SHARDS)}.lobby`);
  });
});

describe.each([
  ['RabbitMQ (confirm channel + event-source-mapping poller)', rabbitHarness],
  ['the in-memory bus', memoryHarness],
])('%s (bus contract)', (_name, make) => {
  let harness: Harness;

  afterEach(async () => {
    await harness?.close();
  });

  it('hands every published message to the handler once, in order per room, with its message id', async () => {
    harness = await make();
    const seen: { queue: string; message: ChatMessage }[] = [];
    await harness.source.start(async (queue, deliveries) => {
      for (const delivery of deliveries) {
        const message = decode(delivery);
        expect(delivery.messageId).toBe(message.id);
        seen.push({ queue, message });
      }
    });
    for (let n = 0; n < 30; n += 1)
      await harness.bus.publish(chatMessage(n, { room: `room-${n % 3}`, body: n }));
    await eventually(() => seen.length >= 30, 'all 30 messages', 15_000);
    expect(seen).toHaveLength(30);
    for (const room of ['room-0', 'room-1', 'room-2']) {
      const bodies = seen.filter((s) => s.message.room === room).map((s) => s.message.body as number);
      expect(bodies).toEqual([...bodies].sort((a, b) => a - b));
      const queues = new Set(seen.filter((s) => s.message.room === room).map((s) => s.queue));
      expect([...queues]).toEqual([
        expect.stringMatching(new RegExp(`\\.fanout\\.${shardOf(room, SHARDS)}::/$`)),
      ]);
    }
  });

  it("hands a room's signals to its shard in order with its messages", async () => {
    harness = await make();
    const seen: { queue: string; message: ChatMessage }[] = [];
    await harness.source.start(async (queue, deliveries) => {
      for (const delivery of deliveries) seen.push({ queue, message: decode(delivery) });
    });
    const signal = signalEnvelope('signal-room', '{"type":"typing"}');
    await harness.bus.publish(chatMessage(1, { room: 'signal-room' }));
    await harness.bus.publish(signal);
    await harness.bus.publish(chatMessage(2, { room: 'signal-room' }));
    await eventually(() => seen.length >= 3, 'the messages and the signal', 15_000);
    expect(seen.map((s) => s.message.id)).toEqual([chatMessage(1).id, signal.id, chatMessage(2).id]);
    expect(new Set(seen.map((s) => s.queue)).size).toBe(1);
    expect(isSignal(seen[1]!.message)).toBe(true);
  });

  it("requeues a message to its room's shard with the headers that name its remaining targets", async () => {
    harness = await make();
    const seen: { queue: string; delivery: Delivery }[] = [];
    await harness.source.start(async (queue, deliveries) => {
      for (const delivery of deliveries) seen.push({ queue, delivery });
    });
    const message = chatMessage(1, { room: 'retry-room' });
    const targets = JSON.stringify({ connections: ['c1', 'é2'], slices: [] });
    await harness.bus.publish(message);
    await harness.bus.requeue!(message, { 'x-hipochat-targets': targets });
    await eventually(() => seen.length >= 2, 'the message and its requeue', 15_000);
    expect(seen.map((s) => decode(s.delivery))).toEqual([message, message]);
    expect(seen.map((s) => s.delivery.headers?.['x-hipochat-targets'])).toEqual([undefined, targets]);
    expect(seen[1]!.delivery.messageId).toBe(message.id);
    expect(new Set(seen.map((s) => s.queue)).size).toBe(1);
  });

  it("hands a message published for later to its room's shard once the delay passed, behind what came meanwhile", async () => {
    harness = await make();
    const seen: { queue: string; message: ChatMessage }[] = [];
    await harness.source.start(async (queue, deliveries) => {
      for (const delivery of deliveries) seen.push({ queue, message: decode(delivery) });
    });
    const flush = digestFlush('delay-room');
    await harness.bus.publishLater(flush, 300);
    await harness.bus.publish(chatMessage(1, { room: 'delay-room' }));
    await eventually(() => seen.length >= 2, 'the message and the delayed flush', 15_000);
    expect(seen.map((s) => s.message.id)).toEqual([chatMessage(1).id, flush.id]);
    expect(seen[1]!.message).toEqual(flush);
    expect(new Set(seen.map((s) => s.queue)).size).toBe(1);
  });

  it('redelivers a failed batch and dead-letters a poison message after the delivery limit', async () => {
    harness = await make();
    const attempts = new Map<number, number>();
    const delivered: number[] = [];
    const handler: BatchHandler = async (_queue, deliveries) => {
      const messages = deliveries.map(decode);
      for (const m of messages) attempts.set(m.body as number, (attempts.get(m.body as number) ?? 0) + 1);
      if (messages.some((m) => m.body === 666)) throw new Error('poison');
      delivered.push(...messages.map((m) => m.body as number));
    };
    await harness.source.start(handler);
    await harness.bus.publish(chatMessage(666, { room: 'poison-room', body: 666 }));
    await eventually(async () => (await harness.deadLetters()).length > 0, 'a dead letter', 15_000);
    await harness.bus.publish(chatMessage(7, { room: 'poison-room', body: 7 }));
    await eventually(() => delivered.includes(7), 'the message after the poison one', 15_000);
    expect(attempts.get(666)).toBeGreaterThanOrEqual(DELIVERY_LIMIT);
    expect(delivered).not.toContain(666);
  });
});

describe('RabbitMqBus', () => {
  it('publishes signals and requeues apart from messages, so an archive binding *.<room> gets each message once', async () => {
    const namespace = testNamespace();
    const bus = new RabbitMqBus({ url: AMQP_URL, shards: SHARDS, deliveryLimit: DELIVERY_LIMIT, namespace });
    const connection = await amqp.connect(AMQP_URL);
    try {
      await bus.publish(chatMessage(0, { room: 'archived' }));
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(queue, busNames(namespace).exchange, '*.archived');
      await bus.publish(signalEnvelope('archived', '{"type":"typing"}'));
      // A requeue of a message the archive already had does not reach it twice.
      await bus.requeue(chatMessage(0, { room: 'archived' }), { 'x-hipochat-targets': '{}' });
      await bus.publish(chatMessage(1, { room: 'archived' }));
      const archived: ChatMessage[] = [];
      await channel.consume(queue, (m) => m && archived.push(JSON.parse(m.content.toString())), {
        noAck: true,
      });
      await eventually(() => archived.length >= 1, 'the archived message', 15_000);
      await new Promise((done) => setTimeout(done, 200));
      expect(archived.map((m) => m.id)).toEqual([chatMessage(1).id]);
      expect(signalRoutingKey('archived', SHARDS)).toBe(`${routingKey('archived', SHARDS)}.~signal`);
    } finally {
      await connection.close();
      await bus.close();
      await deleteNamespace(namespace, SHARDS);
    }
  });

  it('fails a publish with 503 when the broker is unreachable', async () => {
    const bus = new RabbitMqBus({ url: 'amqp://guest:guest@127.0.0.1:1', shards: 1, deliveryLimit: 1 });
    await expect(bus.publish(chatMessage(1, { room: 'r', body: 1 }))).rejects.toThrow(
      ServiceUnavailableError,
    );
    await bus.close();
  });
});
