import { invocationDeadline, parseSliceRequest, type SliceRequest } from '../../core/fanout-slices.js';
import { logger } from '../../core/logger.js';
import { invokeRoute } from '../shared/invoke.js';

/**
 * The delivery function: one slice of a big room's fan-out. The fan-out function invokes it once
 * per slice and waits; it posts the room's messages to the slice's connections (dropping those
 * that answer 410) and answers what it missed, which the fan-out requeues. Never the push webhook.
 */
export const handler = invokeRoute(async (event: SliceRequest, { fanout }, context) => {
  const request = parseSliceRequest(event);
  // Never past the function's own timeout, whatever the request asks: the slice writes its note.
  if (context) {
    const end = invocationDeadline(context.getRemainingTimeInMillis());
    request.deadline = Math.min(request.deadline ?? end, end);
  }
  const result = await fanout.deliverSlice(request);
  logger.debug('fan-out slice done', {
    connections: request.connections.length,
    messages: request.messages.length,
    sent: result.sent,
    gone: result.gone,
    failed: result.failed,
  });
  return result;
});
