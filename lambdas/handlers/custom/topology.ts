import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import amqp from 'amqplib';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { DEAD_LETTER_QUEUE, declareTopology, shardQueue } from '../../core/bus/topology.js';

/** What the custom resource provider framework expects back from `onEvent`. */
export interface TopologyResponse {
  PhysicalResourceId: string;
  Data?: { Queues: string; DeadLetterQueue: string };
}

const PHYSICAL_ID = 'hipochat-topology';
const secrets = new SecretsManagerClient({});

function integer(properties: Record<string, unknown>, name: string, min: number, max: number): number {
  // CloudFormation hands every property over as a string.
  const value = Number(properties[name]);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${String(properties[name])}`);
  }
  return value;
}

/** `amqps://user:pass@host:5671` from the endpoint variable and the broker credentials secret. */
async function brokerUrl(): Promise<string> {
  const endpoint = process.env.HIPOCHAT_RABBIT_URL;
  const secretArn = process.env.HIPOCHAT_RABBIT_SECRET_ARN;
  if (!endpoint || !secretArn)
    throw new Error('HIPOCHAT_RABBIT_URL and HIPOCHAT_RABBIT_SECRET_ARN must be set');
  const secret = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
  const { username, password } = JSON.parse(secret.SecretString ?? '{}') as {
    username?: string;
    password?: string;
  };
  if (!username || !password) throw new Error('broker secret must hold username and password');
  const url = new URL(endpoint);
  url.username = encodeURIComponent(username);
  url.password = encodeURIComponent(password);
  return url.toString();
}

/**
 * Declares the Hipochat topology (exchange, quorum shard queues, dead-letter queue) when the stack
 * creates or updates the topology resource. Deleting the resource leaves the queues alone: they go
 * with the broker, and a shrinking shard count must not drop messages still queued.
 */
export async function handler(event: CloudFormationCustomResourceEvent): Promise<TopologyResponse> {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const shards = integer(event.ResourceProperties, 'Shards', 1, 64);
  const deliveryLimit = integer(event.ResourceProperties, 'DeliveryLimit', 1, 100);
  const connection = await amqp.connect(await brokerUrl(), { timeout: 10_000 });
  try {
    const channel = await connection.createChannel();
    try {
      await declareTopology(channel, { shards, deliveryLimit });
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
  const queues = Array.from({ length: shards }, (_, shard) => shardQueue(shard));
  return {
    PhysicalResourceId: PHYSICAL_ID,
    Data: { Queues: queues.join(','), DeadLetterQueue: DEAD_LETTER_QUEUE },
  };
}
