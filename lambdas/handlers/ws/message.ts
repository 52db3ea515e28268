import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import {
  ackFrame,
  encodeServerFrame,
  ephemeralAckFrame,
  errorFrame,
  KEEP_ALIVE_REPLY,
  type ServerFrame,
} from '../../../protocol/index.js';
import { receiveFrame } from '../../core/protocol.js';
import type { RoomRefusal } from '../../core/rooms-service.js';
import { connectionOf, type WebSocketEvent, wsRoute } from '../shared/websocket.js';

// The clientId of the frame an event carried, so its error frame names the frame it refuses.
const clientIds = new WeakMap<WebSocketEvent, string>();
// The room a subscribe or unsubscribe named, so its error frame names the room it refuses (a
// single-room connection ignores the `room` of other frames, and its error frames never echo it).
const frameRooms = new WeakMap<WebSocketEvent, string>();

/** The route answer to a frame the server took: an ack when it carried a `clientId`. */
function acked(clientId: string | undefined, id?: string): APIGatewayProxyResultV2 {
  if (clientId === undefined) return { statusCode: 200 };
  const ack = id === undefined ? ephemeralAckFrame(clientId) : ackFrame(id, clientId);
  return { statusCode: 200, body: encodeServerFrame(ack) };
}

/** The route answer carrying one server frame. */
function answer(frame: ServerFrame): APIGatewayProxyResultV2 {
  return { statusCode: 200, body: encodeServerFrame(frame) };
}

/**
 * `$default`: a frame from a client, read once into its typed frame and dispatched by kind. A
 * message reaches the sender through the fan-out; the route response carries an `ack` when the
 * client sent a `clientId`, or an error frame `{"ERROR": "...", "clientId"?: ...}` (the connection
 * stays open; a sender can tell which frame failed and retry it with the same `clientId`).
 */
export const handler = wsRoute(
  async (event, rt) => {
    const text =
      event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    const received = receiveFrame(text, rt.config);
    if (received.clientId !== undefined) clientIds.set(event, received.clientId);
    if ('error' in received) throw received.error;
    const { frame } = received;
    if (frame.kind === 'subscribe' || frame.kind === 'unsubscribe') frameRooms.set(event, frame.room);
    switch (frame.kind) {
      case 'ping':
        return { statusCode: 200, body: KEEP_ALIVE_REPLY };
      case 'send': {
        const { room, identity } = await connectionOf(event, rt, frame.room);
        const message = await rt.chat.send(room, identity, frame);
        return acked(frame.clientId, message.id);
      }
      case 'typing': {
        // Ephemeral (typing): delivered live, never stored, so its ack has no id.
        const { room, identity } = await connectionOf(event, rt, frame.room);
        await rt.signals.ephemeral(room, identity, frame);
        return acked(frame.clientId);
      }
      case 'edit':
      case 'delete':
      case 'react': {
        // A change to a stored message: acked with that message's id.
        const { room, identity } = await connectionOf(event, rt, frame.room);
        const change = await rt.edits.frame(room, identity, frame);
        return acked(frame.clientId, change.id);
      }
      // A connection that follows rooms: answered in the route response, like acks.
      case 'subscribe':
        return answer(await rt.rooms.subscribe(event.requestContext.connectionId, frame.room, frame.since));
      case 'unsubscribe':
        return answer(await rt.rooms.unsubscribe(event.requestContext.connectionId, frame.room));
      case 'unread':
        return answer({
          kind: 'unread',
          rooms: await rt.rooms.unreadCounts(event.requestContext.connectionId),
        });
      default: {
        const unknown: never = frame;
        throw new Error(`unhandled client frame ${JSON.stringify(unknown)}`);
      }
    }
  },
  (failure, event) => ({
    statusCode: failure.statusCode,
    body: encodeServerFrame(
      errorFrame(
        failure.message,
        clientIds.get(event),
        frameRooms.get(event) ?? (failure as RoomRefusal).room,
        failure.frameDetails(),
      ),
    ),
  }),
  { carriesMessage: true },
);
