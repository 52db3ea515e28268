import type { Context } from 'aws-lambda';
import { MemoryBus } from '../../lambdas/core/bus/memory-bus.js';
import { loadConfig } from '../../lambdas/core/config.js';
import type { ConnectionSender } from '../../lambdas/core/connections.js';
import { ServiceUnavailableError } from '../../lambdas/core/errors.js';
import { createRuntime, setRuntime } from '../../lambdas/core/runtime.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { handler as fanout } from '../../lambdas/handlers/mq/fanout.js';
import { rabbitMqEvent } from '../../local/mq-events.js';
import type { ChatMessage } from '../../protocol/index.js';
import { chatMessage } from '../support/messages.js';

const DELIVERY_LIMIT = 3;

/** A management API where every post of a body containing `POISON` fails after its retries. */
class PoisonedSender implements ConnectionSender {
  delivered: string[] = [];
  async post(connectionId: string, data: Uint8Array) {
    const message = JSON.parse(Buffer.from(data).toString()) as ChatMessage;
    if (String(message.body).includes('POISON')) throw new Error('500 after retries');
    this.delivered.push(`${connectionId}:${message.body as string}`);
    return 'sent' as const;
  }
  async disconnect() {}
}

/** A bus that records what was requeued instead of queueing it. */
class RecordingMemoryBus extends MemoryBus {
  republished: ChatMessage[] = [];
  override async requeue(message: ChatMessage) {
    this.republished.push(message);
  }
}

const batch = (messages: ChatMessage[]) =>
  rabbitMqEvent(
    'hipochat.fanout.0::/',
    messages.map((m) => ({ body: Buffer.from(JSON.stringify(m)), messageId: m.id, redelivered: false })),
  );

describe('fan-out of a batch with a poison message', () => {
  let store: MemoryStore;
  let bus: RecordingMemoryBus;
  let sender: PoisonedSender;

  beforeEach(async () => {
    store = new MemoryStore();
    bus = new RecordingMemoryBus(1, DELIVERY_LIMIT);
    sender = new PoisonedSender();
    const config = loadConfig({ HIPOCHAT_DELIVERY_LIMIT: String(DELIVERY_LIMIT) });
    setRuntime(createRuntime(config, { store, bus, sender }));
    await store.connect('lobby', 'c1', { userId: 'ann', profile: {} }, 7200);
  });

  afterEach(() => setRuntime(undefined));

  it('delivers the healthy messages and succeeds, requeueing only the poison message', async () => {
    const poison = chatMessage(1, { body: 'POISON' });
    await fanout(batch([poison, chatMessage(2, { body: 'fine' })]));
    expect(sender.delivered).toEqual(['c1:fine']);
    expect(bus.republished).toEqual([poison]);
    expect(bus.deadLetters).toEqual([]);
  });

  it(`dead-letters the poison message after ${DELIVERY_LIMIT} failures`, async () => {
    const poison = chatMessage(1, { body: 'POISON' });
    for (let attempt = 0; attempt < DELIVERY_LIMIT; attempt += 1) await fanout(batch([poison]));
    expect(bus.republished).toHaveLength(DELIVERY_LIMIT - 1);
    expect(bus.deadLetters.map((body) => JSON.parse(body.toString()))).toEqual([poison]);
  });

  it('fails the whole batch when the failed message cannot be requeued', async () => {
    jest.spyOn(bus, 'requeue').mockRejectedValue(new Error('broker down'));
    await expect(fanout(batch([chatMessage(1, { body: 'POISON' })]))).rejects.toThrow('broker down');
  });
});

describe('fan-out of a batch while the store is unavailable', () => {
  let store: MemoryStore;
  let bus: RecordingMemoryBus;
  let sender: PoisonedSender;
  /** Tries of the batch the store refuses before it is back. */
  let refusals: number;

  /** A Lambda context with `remainingMs` left of the invocation. */
  const invocation = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs }) as Context;

  beforeEach(async () => {
    store = new MemoryStore();
    bus = new RecordingMemoryBus(1, DELIVERY_LIMIT);
    sender = new PoisonedSender();
    const config = loadConfig({ HIPOCHAT_DELIVERY_LIMIT: String(DELIVERY_LIMIT) });
    setRuntime(createRuntime(config, { store, bus, sender }));
    await store.connect('lobby', 'c1', { userId: 'ann', profile: {} }, 7200);
    await store.connect('lobby', 'c2', { userId: 'bob', profile: {} }, 7200);
    const connections = store.connections.bind(store);
    jest.spyOn(store, 'connections').mockImplementation(async (...args) => {
      if (refusals <= 0) return connections(...args);
      refusals -= 1;
      throw new ServiceUnavailableError('store unavailable');
    });
  });

  afterEach(() => setRuntime(undefined));

  it('waits within the invocation for the store to come back, then delivers every message once', async () => {
    // More refusals than the delivery limit: had each been a redelivery, the batch would be dead-lettered.
    refusals = DELIVERY_LIMIT + 1;
    await fanout(batch([chatMessage(1), chatMessage(2)]), invocation(60_000));
    expect(sender.delivered.sort()).toEqual(['c1:m1', 'c1:m2', 'c2:m1', 'c2:m2']);
    expect(bus.republished).toEqual([]);
    expect(bus.deadLetters).toEqual([]);
  });

  it('fails the batch, for the queue to redeliver, when the store is still down at the deadline', async () => {
    refusals = Number.POSITIVE_INFINITY;
    // A second left: the fan-out starts nothing after half of it.
    await expect(fanout(batch([chatMessage(1)]), invocation(1000))).rejects.toThrow('store unavailable');
    expect(sender.delivered).toEqual([]);
    expect(bus.deadLetters).toEqual([]);
  });
});
