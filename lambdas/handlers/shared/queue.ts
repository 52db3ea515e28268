import type { Context } from 'aws-lambda';
import { type Runtime, runtime } from '../../core/runtime.js';
import type { RabbitMqEvent } from '../mq/rabbitmq-event.js';
import { type LambdaHandler, lambdaHandler } from './invocation.js';

/**
 * Wraps an Amazon MQ (RabbitMQ) consumer: `work` gets the batch, the process runtime and Lambda's
 * context (absent in tests). A failure is logged and thrown again, so the event source mapping
 * retries the whole batch.
 */
export function queueRoute<R>(
  work: (event: RabbitMqEvent, rt: Runtime, context?: Context) => Promise<R>,
): LambdaHandler<RabbitMqEvent, R> {
  return lambdaHandler({
    keys: (event) => ({ route: 'aws:rmq', queue: Object.keys(event.rmqMessagesByQueue).join(',') }),
    run: async (event, context) => work(event, await runtime(), context),
    fail: (_failure, _event, error) => {
      throw error;
    },
  });
}
