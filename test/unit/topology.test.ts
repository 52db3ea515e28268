import type { Channel } from 'amqplib';
import { declareTopology } from '../../lambdas/core/bus/topology.js';

/** A channel that records the queues declared, as RabbitMQ 3.13 or 4.2 would receive them. */
function recordingChannel() {
  const queues: { name: string; options: { durable?: boolean; arguments?: Record<string, unknown> } }[] = [];
  const channel = {
    assertExchange: async () => ({}),
    bindQueue: async () => ({}),
    assertQueue: async (name: string, options: (typeof queues)[number]['options']) => {
      queues.push({ name, options });
      return { queue: name, messageCount: 0, consumerCount: 0 };
    },
  } as unknown as Channel;
  return { channel, queues };
}

describe('declareTopology on RabbitMQ 3.13 and 4.2', () => {
  it.each(['quorum', 'classic'] as const)(
    'names the type of every %s-deployment queue, so RabbitMQ 4.2’s quorum default changes nothing',
    async (queueType) => {
      const { channel, queues } = recordingChannel();
      await declareTopology(channel, { shards: 3, deliveryLimit: 5, queueType });
      expect(queues.map((queue) => queue.name)).toEqual([
        'hipochat.dead',
        'hipochat.delayed',
        'hipochat.fanout.0',
        'hipochat.fanout.1',
        'hipochat.fanout.2',
      ]);
      for (const { name, options } of queues) {
        expect(options.durable).toBe(true);
        expect(options.arguments?.['x-queue-type']).toBe(name === 'hipochat.dead' ? 'quorum' : queueType);
      }
    },
  );

  it('sets the delivery limit on quorum shard queues (RabbitMQ 4 would otherwise default it to 20)', async () => {
    const { channel, queues } = recordingChannel();
    await declareTopology(channel, { shards: 1, deliveryLimit: 5 });
    expect(queues.find((queue) => queue.name === 'hipochat.fanout.0')!.options.arguments).toMatchObject({
      'x-queue-type': 'quorum',
      'x-delivery-limit': 5,
    });
  });
});
