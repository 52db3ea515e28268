import type { RabbitMqEvent } from '../../core/bus/rabbitmq-event.js';
import { FanoutError, type FanoutReport } from '../../core/fanout.js';
import { logger } from '../../core/logger.js';
import { type ChatMessage, MESSAGE_ID_PATTERN, ROOM_PATTERN } from '../../core/protocol.js';
import { type Runtime, runtime } from '../../core/runtime.js';
import { keys } from '../../core/store/chat-store.js';

function decode(data: string): ChatMessage | undefined {
  try {
    const message = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as ChatMessage;
    if (
      typeof message.id === 'string' &&
      MESSAGE_ID_PATTERN.test(message.id) &&
      ROOM_PATTERN.test(message.room)
    ) {
      return message;
    }
  } catch {
    // Reported below.
  }
  return undefined;
}

/**
 * Amazon MQ (RabbitMQ) consumer: delivers every message of the batch to every connection of its
 * room. Messages that missed a connection are requeued on their own (see `requeueFailed`); any
 * other error makes the event source mapping retry the whole batch. Clients dedupe by id.
 */
export const handler = async (event: RabbitMqEvent): Promise<FanoutReport> => {
  const messages: ChatMessage[] = [];
  for (const [queue, records] of Object.entries(event.rmqMessagesByQueue)) {
    for (const record of records) {
      const message = decode(record.data);
      // Retrying cannot fix a malformed body, and failing the batch would hold back the room.
      if (message) messages.push(message);
      else logger.error('dropping malformed message', { queue, bodySize: record.basicProperties.bodySize });
    }
  }
  const rt = await runtime();
  try {
    const report = await rt.fanout.deliver(messages);
    logger.debug('fan-out batch done', { ...report });
    return report;
  } catch (error) {
    if (!(error instanceof FanoutError) || !rt.bus.deadLetter) throw error;
    await requeueFailed(rt, error.failed);
    logger.warn('fan-out batch done with requeued messages', {
      ...error.report,
      requeued: error.failed.length,
    });
    return error.report;
  }
};

const FAILURE_MEMORY_SECONDS = 24 * 3600;

/**
 * The event source mapping retries a failed batch as a whole, and every retry counts against
 * the delivery limit of every message in it: one poison message would drag the messages batched
 * with it into the dead-letter queue. So only the messages that missed a connection go back, one
 * by one: republished (a new copy; clients dedupe by id) until they failed `deliveryLimit` times,
 * then sent to the dead-letter queue. Should any of that fail, the whole batch is retried.
 */
async function requeueFailed(rt: Runtime, failed: readonly ChatMessage[]): Promise<void> {
  const deadLetter = rt.bus.deadLetter!.bind(rt.bus);
  for (const message of failed) {
    const key = keys.fanoutFailures(message.room, message.id);
    const failures = Number((await rt.store.getValue(key)) ?? 0) + 1;
    if (failures >= rt.config.deliveryLimit) {
      await deadLetter(message);
      logger.error('message dead-lettered after the delivery limit', {
        room: message.room,
        id: message.id,
        failures,
      });
    } else {
      await rt.store.setValue(key, String(failures), FAILURE_MEMORY_SECONDS);
      await rt.bus.publish(message);
    }
  }
}
