import { type Runtime, runtime } from '../../core/runtime.js';
import type { RabbitMqEvent } from '../mq/rabbitmq-event.js';
import { type LambdaHandler, lambdaHandler } from './invocation.js';

/**
 * Wraps an Amazon MQ (RabbitMQ) consumer: `work` gets the batch and the process runtime. A failure
 * is logged and thrown again, so the event source mapping retries the whole batch.
 */
export function queueRoute<R>(
  work: (event: RabbitMqEvent, rt: Runtime) => Promise<R>,
): LambdaHandler<RabbitMqEvent, R> {
  return lambdaHandler({
    keys: (event) => ({ route: 'aws:rmq', queue: Object.keys(event.rmqMessagesByQueue).join(',') }),
    run: async (event) => work(event, await runtime()),
    fail: (_failure, _event, error) => {
      throw error;
    },
  });
}
