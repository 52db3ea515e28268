import amqp from 'amqplib';
import { provisionRuntimeUser } from '../../core/bus/broker-users.js';
import { DEAD_LETTER_QUEUE, declareTopology, shardQueue } from '../../core/bus/topology.js';
import { loadConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { withSecrets } from '../../core/secrets.js';
import { customResource } from '../shared/custom-resource.js';

/** What the custom resource provider framework expects back from `onEvent`. */
export interface TopologyResponse {
  PhysicalResourceId: string;
  Data?: { Queues: string; DeadLetterQueue: string };
}

const PHYSICAL_ID = 'hipochat-topology';

/**
 * The broker URL and the topology's shape through the config loader: endpoint and administrator
 * from the environment and its secret, shards and delivery limit from the resource properties
 * (strings, as CloudFormation hands them over), checked by the rules of the variables they set.
 */
async function topologyConfig(properties: Record<string, unknown>) {
  const config = loadConfig(
    await withSecrets({
      ...process.env,
      HIPOCHAT_FANOUT_SHARDS: String(properties.Shards ?? ''),
      HIPOCHAT_DELIVERY_LIMIT: String(properties.DeliveryLimit ?? ''),
    }),
  );
  if (!config.amqpUrl || !new URL(config.amqpUrl).username) {
    throw new ConfigError('HIPOCHAT_RABBIT_URL and HIPOCHAT_RABBIT_SECRET_ARN must be set');
  }
  return { amqpUrl: config.amqpUrl, shards: config.fanoutShards, deliveryLimit: config.deliveryLimit };
}

/**
 * Declares the Hipochat topology (exchange, quorum shard queues, dead-letter and delay queues) when the stack
 * creates or updates the topology resource. Deleting the resource leaves the queues alone: they go
 * with the broker, and a shrinking shard count must not drop messages still queued.
 */
export const handler = customResource(async (event): Promise<TopologyResponse> => {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const { amqpUrl, shards, deliveryLimit } = await topologyConfig(event.ResourceProperties);
  const queueType = event.ResourceProperties.QueueType === 'classic' ? 'classic' : 'quorum';
  const connection = await amqp.connect(amqpUrl, { timeout: 10_000 });
  try {
    const channel = await connection.createChannel();
    try {
      await declareTopology(channel, { shards, deliveryLimit, queueType });
    } catch (error) {
      // 406 PRECONDITION_FAILED: a queue exists with other arguments (a changed delivery limit).
      throw new Error(
        `declaring the topology failed: ${(error as Error).message}. Queue arguments cannot change in place; ` +
          'keep the delivery limit or change it with a RabbitMQ policy.',
      );
    }
    await channel.close().catch(() => undefined);
  } finally {
    await connection.close().catch(() => undefined);
  }
  // The non-admin user the functions and event source mappings connect as (management API).
  await provisionRuntimeUser(event);
  const queues = Array.from({ length: shards }, (_, shard) => shardQueue(shard));
  return {
    PhysicalResourceId: PHYSICAL_ID,
    Data: { Queues: queues.join(','), DeadLetterQueue: DEAD_LETTER_QUEUE },
  };
});
