/**
 * `hipochat chat --rooms a,b`: one connection that follows several rooms (`?rooms=`), speaking the
 * wire's frames directly. Every line printed names its room; a typed line goes to the first room,
 * or to another with `@room text`.
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import {
  type ChatMessage,
  encodeClientFrame,
  isValidRoom,
  parseServerFrame,
  type ServerFrame,
} from 'hipochat-serverless/protocol';
import type WebSocket from 'ws';
import type { Io } from './args.js';
import { RefusalReadingWebSocket } from './node-websocket.js';

/** Where and as whom `chat --rooms` connects. */
export interface RoomsChatTarget {
  /** The WebSocket API's URL (`ws://host:port`, `wss://…/stage`). */
  url: string;
  token: string;
  rooms: readonly string[];
  timeoutMs: number;
  /** One message as a terminal line (without its room). */
  format: (message: ChatMessage) => string;
}

/** The connect URL of a connection that follows `rooms`. */
export function roomsUrl(url: string, rooms: readonly string[], token: string): string {
  const target = new URL(url);
  target.searchParams.set('rooms', rooms.join(','));
  target.searchParams.set('token', token);
  return target.toString();
}

/**
 * The room and text of a typed line: `@room text` names the room, anything else goes to
 * `fallback`; null when `@room` names a room the connection does not follow.
 */
export function addressed(
  line: string,
  rooms: readonly string[],
  fallback: string,
): { room: string; text: string } | null {
  const match = /^@(\S+)\s+(.*)$/s.exec(line);
  if (!match) return { room: fallback, text: line };
  return rooms.includes(match[1]!) ? { room: match[1]!, text: match[2]! } : null;
}

function opened(url: string, timeoutMs: number): Promise<WebSocket> {
  const ws: WebSocket = new RefusalReadingWebSocket(url);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no connection within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Runs `chat --rooms`; answers the exit code (1 when a line could not be sent). */
export async function chatRooms(target: RoomsChatTarget, io: Io): Promise<number> {
  const { rooms } = target;
  const bad = rooms.find((room) => !isValidRoom(room));
  if (bad !== undefined) throw new Error(`invalid room name: ${bad}`);
  const ws = await opened(roomsUrl(target.url, rooms, target.token), target.timeoutMs);
  io.err(`* live in ${rooms.join(', ')}\n`);
  const print = (room: string, message: ChatMessage) => io.out(`[${room}] ${target.format(message)}\n`);
  /** Sends waiting for their ack or error frame, by clientId. */
  const pending = new Map<string, (error?: string) => void>();
  const onFrame = (frame: ServerFrame | { kind: 'unreadable' }) => {
    switch (frame.kind) {
      case 'message':
        return print(frame.message.room, frame.message);
      case 'batch':
        for (const message of frame.messages) print(frame.room, message);
        return;
      case 'ack':
        pending.get(frame.clientId)?.();
        return;
      case 'error': {
        const settle = frame.clientId === undefined ? undefined : pending.get(frame.clientId);
        if (settle) return settle(frame.message);
        io.err(`! ${frame.room === undefined ? '' : `${frame.room}: `}${frame.message}\n`);
        return;
      }
      default:
        return;
    }
  };
  ws.on('message', (data) => onFrame(parseServerFrame(data.toString())));
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  let failed = false;
  const send = (room: string, text: string) =>
    new Promise<void>((resolve) => {
      const clientId = randomUUID();
      const timer = setTimeout(() => settle('no answer from the server'), target.timeoutMs);
      const settle = (error?: string) => {
        clearTimeout(timer);
        pending.delete(clientId);
        if (error !== undefined) {
          failed = true;
          io.err(`! not sent to ${room}: ${error}\n`);
        }
        resolve();
      };
      pending.set(clientId, settle);
      ws.send(encodeClientFrame({ kind: 'send', body: text, clientId, room }));
    });
  const lines = createInterface({ input: io.stdin, terminal: false });
  const sends: Promise<void>[] = [];
  lines.on('line', (line) => {
    const text = line.trimEnd();
    if (text === '' || text === '/quit') {
      if (text === '/quit') lines.close();
      return;
    }
    const to = addressed(text, rooms, rooms[0]!);
    if (!to) {
      failed = true;
      io.err(`! not sent: follow a room with --rooms to write to it (${rooms.join(', ')})\n`);
      return;
    }
    sends.push(send(to.room, to.text));
  });
  await Promise.race([new Promise<void>((resolve) => lines.once('close', () => resolve())), closed]);
  await Promise.all(sends);
  // Let the last messages come back through the fan-out before leaving.
  if (sends.length > 0) await new Promise((resolve) => setTimeout(resolve, 500));
  ws.close();
  return failed ? 1 : 0;
}
