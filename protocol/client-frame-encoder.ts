/**
 * The encoder clients use for the frames of `client-frames.ts`: the JSON text the server's reader
 * takes back into the same typed frame.
 */
import type { ClientFrame } from './client-frames.js';
import { CLIENT_CONTROL_TYPES } from './client-frames.js';
import { TYPING_TYPE } from './frames.js';
import { CHAT_MESSAGE_TYPE } from './messages.js';

/** The JSON text of a client frame. */
export function encodeClientFrame(frame: ClientFrame): string {
  switch (frame.kind) {
    case 'ping':
      return JSON.stringify({ type: CLIENT_CONTROL_TYPES.ping });
    case 'unread':
      return JSON.stringify({ type: CLIENT_CONTROL_TYPES.unread });
    case 'typing':
      return JSON.stringify({
        type: frame.type ?? TYPING_TYPE,
        clientId: frame.clientId,
        body: frame.body,
        room: frame.room,
      });
    case 'edit':
      return JSON.stringify({
        type: 'edit',
        id: frame.id,
        body: frame.body,
        clientId: frame.clientId,
        room: frame.room,
      });
    case 'delete':
      return JSON.stringify({ type: 'delete', id: frame.id, clientId: frame.clientId, room: frame.room });
    case 'react':
      return JSON.stringify({
        type: 'react',
        id: frame.id,
        emoji: frame.emoji,
        clientId: frame.clientId,
        room: frame.room,
      });
    case 'subscribe':
      return JSON.stringify({
        type: 'subscribe',
        room: frame.room,
        since: frame.since,
        clientId: frame.clientId,
      });
    case 'unsubscribe':
      return JSON.stringify({ type: 'unsubscribe', room: frame.room, clientId: frame.clientId });
    case 'send':
      return JSON.stringify({
        ...frame.fields,
        type: frame.type ?? CHAT_MESSAGE_TYPE,
        body: frame.body,
        clientId: frame.clientId,
        room: frame.room,
        parentId: frame.parentId,
        mentions: frame.mentions,
      });
  }
}
