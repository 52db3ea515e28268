import {
  ackFrame,
  encodeServerFrame,
  ephemeralAckFrame,
  errorFrame,
  KEEP_ALIVE_REPLY,
} from '../../../protocol/index.js';
import { isKeepAlive } from '../../core/protocol.js';
import { connectionOf, wsRoute } from '../shared/websocket.js';

/** The `clientId` of a frame, when it has a usable one, so an error frame names what it refuses. */
function clientIdOf(body: string | undefined, base64: boolean): string | undefined {
  if (!body || body.length > 262_144) return undefined;
  try {
    const frame = JSON.parse(base64 ? Buffer.from(body, 'base64').toString('utf8') : body) as unknown;
    const clientId = (frame as { clientId?: unknown } | null)?.clientId;
    return typeof clientId === 'string' && clientId.length > 0 && clientId.length <= 128
      ? clientId
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `$default`: a frame from a client. The message itself reaches the sender through the fan-out;
 * the route response carries an `ack` when the client sent a `clientId`, or an error frame
 * `{"ERROR": "...", "clientId"?: ...}` (the connection stays open; a sender can tell which
 * message failed and retry it with the same `clientId`).
 */
export const handler = wsRoute(
  async (event, rt) => {
    const text =
      event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    if (isKeepAlive(text)) return { statusCode: 200, body: KEEP_ALIVE_REPLY };
    const { room, identity } = await connectionOf(event, rt);
    // An edit, delete or reaction changes a stored message: acked with that message's id.
    const change = await rt.edits.frame(room, identity, text);
    if (change?.clientId)
      return { statusCode: 200, body: encodeServerFrame(ackFrame(change.id, change.clientId)) };
    if (change) return { statusCode: 200 };
    // An ephemeral type (typing) is delivered live, never stored: its ack has no id.
    const ephemeral = await rt.signals.ephemeral(room, identity, text);
    if (ephemeral?.clientId)
      return { statusCode: 200, body: encodeServerFrame(ephemeralAckFrame(ephemeral.clientId)) };
    if (ephemeral) return { statusCode: 200 };
    const message = await rt.chat.send(room, identity, text);
    if (!message.clientId) return { statusCode: 200 };
    return { statusCode: 200, body: encodeServerFrame(ackFrame(message.id, message.clientId)) };
  },
  (failure, event) => ({
    statusCode: failure.statusCode,
    body: encodeServerFrame(errorFrame(failure.message, clientIdOf(event.body, event.isBase64Encoded))),
  }),
  { carriesMessage: true },
);
