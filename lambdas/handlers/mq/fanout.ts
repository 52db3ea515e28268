import { type ChatMessage, MESSAGE_ID_PATTERN, ROOM_PATTERN } from '../../../protocol/index.js';
import { invocationDeadline } from '../../core/fanout-slices.js';
import { isRetry } from '../../core/fanout-targets.js';
import { logger } from '../../core/logger.js';
import { queueRoute } from '../shared/queue.js';
import type { RabbitMqRecord } from './rabbitmq-event.js';

/**
 * The string headers of a record: Amazon MQ hands a string header over as `{"bytes":[…]}`, its
 * UTF-8 bytes; other values (numbers) are not ours.
 */
function headersOf(record: RabbitMqRecord): Record<string, string> | undefined {
  const found: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.basicProperties.headers ?? {})) {
    if (typeof value === 'string') found[name] = value;
    const bytes = (value as { bytes?: unknown } | null)?.bytes;
    if (Array.isArray(bytes)) found[name] = Buffer.from(bytes as number[]).toString('utf8');
  }
  return Object.keys(found).length > 0 ? found : undefined;
}

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
 * room. Messages that missed a connection are requeued on their own, naming the connections that
 * miss them (`FanoutService.process`); any other error makes the event source mapping retry the
 * whole batch.
 */
export const handler = queueRoute(async (event, { fanout }, context) => {
  const messages: ChatMessage[] = [];
  const retries = new Map<ChatMessage, Record<string, string>>();
  for (const [queue, records] of Object.entries(event.rmqMessagesByQueue)) {
    for (const record of records) {
      const message = decode(record.data);
      // Retrying cannot fix a malformed body, and failing the batch would hold back the room.
      if (!message) {
        logger.error('dropping malformed message', { queue, bodySize: record.basicProperties.bodySize });
        continue;
      }
      messages.push(message);
      // A requeued message names where it is still missing.
      const headers = headersOf(record);
      if (headers && isRetry(headers)) retries.set(message, headers);
    }
  }
  // Posts and slices stop short of the function's timeout: what is left is requeued, never the batch.
  const deadline = context ? invocationDeadline(context.getRemainingTimeInMillis()) : undefined;
  const report = await fanout.process(messages, retries, deadline);
  logger.debug('fan-out batch done', { ...report });
  return report;
});
