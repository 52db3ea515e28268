/** The commands that call the HTTP API with a user's token (or, for `inject`, the service key). */
import { HipochatHttp, profileUserId } from '@hipochat/client';
import { HipochatServer } from '@hipochat/server';
import {
  checkRoom,
  httpOf,
  type Io,
  jsonBodyOf,
  need,
  roomOf,
  seconds,
  tokenOf,
  UsageError,
  type Values,
} from './args.js';
import { formatMessage, userName } from './format.js';

/** `hipochat inject`: posts a JSON body into a room as a message of `--type`. */
export async function inject(values: Values, io: Io): Promise<number> {
  const httpUrl = httpOf(values, io, 'inject');
  const room = roomOf(values, 'inject');
  const type = need(values.type, '--type', 'inject');
  const serviceKey = values['service-key'] ?? (values.token ? undefined : io.env.HIPOCHAT_SERVICE_KEY);
  if (!serviceKey && !(values.token ?? io.env.HIPOCHAT_TOKEN)) {
    throw new UsageError('inject: --token or --service-key is required');
  }
  const token = serviceKey ? undefined : tokenOf(values, io, 'inject');
  const body = await jsonBodyOf(values, io, 'inject');
  const stored = serviceKey
    ? await new HipochatServer({ httpUrl, serviceKey, timeoutMs: seconds(values, 15) }).inject(
        room,
        type,
        body,
      )
    : await new HipochatHttp({ httpUrl, token, timeoutMs: seconds(values, 15) }).inject(room, type, body);
  io.out(values.json ? `${JSON.stringify(stored)}\n` : `injected ${stored.type} ${stored.id} into ${room}\n`);
  return 0;
}

/** `hipochat history`: the latest messages and the unread count of each room. */
export async function history(values: Values, io: Io): Promise<number> {
  const httpUrl = httpOf(values, io, 'history');
  const rooms = need(values.room, '--room', 'history')
    .split(',')
    .map((room) => checkRoom(room, 'history'));
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError('history: --limit must be a positive integer');
  const http = new HipochatHttp({
    httpUrl,
    token: tokenOf(values, io, 'history'),
    timeoutMs: seconds(values, 15),
  });
  const results = await http.history(rooms, limit);
  if (values.json) {
    io.out(`${JSON.stringify(results, null, 2)}\n`);
    return 0;
  }
  for (const result of results) {
    io.out(`# ${result.room_name} (${result.unread_count} unread)\n`);
    for (const message of result.messages) io.out(`${formatMessage(message)}\n`);
  }
  return 0;
}

/** `hipochat notification`: the user's unread count in a room. */
export async function notification(values: Values, io: Io): Promise<number> {
  const http = new HipochatHttp({
    httpUrl: httpOf(values, io, 'notification'),
    token: tokenOf(values, io, 'notification'),
    timeoutMs: seconds(values, 15),
  });
  const count = await http.notification(roomOf(values, 'notification'));
  io.out(values.json ? `${JSON.stringify({ notification: count })}\n` : `${count}\n`);
  return 0;
}

/** `hipochat presence`: who is online in a room, each user once. */
export async function presence(values: Values, io: Io): Promise<number> {
  const http = new HipochatHttp({
    httpUrl: httpOf(values, io, 'presence'),
    token: tokenOf(values, io, 'presence'),
    timeoutMs: seconds(values, 15),
  });
  const answer = await http.presence(roomOf(values, 'presence'));
  if (values.json) {
    io.out(`${JSON.stringify(answer)}\n`);
    return 0;
  }
  if (answer.online.length === 0) io.err(`nobody is online in ${answer.room}\n`);
  for (const user of answer.online) {
    const id = profileUserId(user);
    const name = userName(user, id ?? JSON.stringify(user));
    io.out(`${name}${id && id !== name ? ` (${id})` : ''}\n`);
  }
  return 0;
}
