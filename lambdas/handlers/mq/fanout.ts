import { type ChatMessage, MESSAGE_ID_PATTERN, ROOM_PATTERN } from '../../../protocol/index.js';
import { logger } from '../../core/logger.js';
import { queueRoute } from '../shared/queue.js';

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
 * room. Messages that missed a connection are requeued on their own (`FanoutService.process`);
 * any other error makes the event source mapping retry the whole batch. Clients dedupe by id.
 */
export const handler = queueRoute(async (event, { fanout }) => {
  const messages: ChatMessage[] = [];
  for (const [queue, records] of Object.entries(event.rmqMessagesByQueue)) {
    for (const record of records) {
      const message = decode(record.data);
      // Retrying cannot fix a malformed body, and failing the batch would hold back the room.
      if (message) messages.push(message);
      else logger.error('dropping malformed message', { queue, bodySize: record.basicProperties.bodySize });
    }
  }
  const report = await fanout.process(messages);
  logger.debug('fan-out batch done', { ...report });
  return report;
});
