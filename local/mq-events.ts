import type { Delivery } from '../lambdas/core/bus/chat-bus.js';
import type { RabbitMqEvent, RabbitMqRecord } from '../lambdas/handlers/mq/rabbitmq-event.js';
import { LOCAL_ACCOUNT } from './events.js';

/** The `aws:rmq` record of one delivery, with the properties the publisher sets. */
function toRecord({ body, messageId, redelivered, headers }: Delivery): RabbitMqRecord {
  return {
    basicProperties: {
      contentType: 'application/json',
      // Amazon MQ hands a string header over as its UTF-8 bytes.
      ...(headers
        ? {
            headers: Object.fromEntries(
              Object.entries(headers).map(([name, value]) => [name, { bytes: [...Buffer.from(value)] }]),
            ),
          }
        : {}),
      deliveryMode: 2,
      messageId: messageId ?? null,
      bodySize: body.length,
    },
    redelivered,
    data: body.toString('base64'),
  };
}

/**
 * An `aws:rmq` batch of one queue (`<queue>::<vhost>`), as an Amazon MQ event source mapping
 * delivers it: the one place the emulator shapes what the fan-out handler receives.
 */
export function rabbitMqEvent(queueAndVhost: string, deliveries: Delivery[]): RabbitMqEvent {
  return {
    eventSource: 'aws:rmq',
    eventSourceArn: `arn:aws:mq:local:${LOCAL_ACCOUNT}:broker:local:b-local`,
    rmqMessagesByQueue: { [queueAndVhost]: deliveries.map(toRecord) },
  };
}
