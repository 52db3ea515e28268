/** The backend's commands, with the service key: broadcast, moderation, disconnects, members. */
import { HipochatServer } from '@hipochat/server';
import {
  checkRoom,
  httpOf,
  type Io,
  jsonBodyOf,
  messageIdOf,
  need,
  roomOf,
  seconds,
  serviceKeyOf,
  UsageError,
  type Values,
} from './args.js';

/** `hipochat broadcast`: one JSON body into many rooms as the backend, in one call. */
export async function broadcast(values: Values, io: Io): Promise<number> {
  const httpUrl = httpOf(values, io, 'broadcast');
  const rooms = need(values.rooms, '--rooms', 'broadcast')
    .split(',')
    .filter((room) => room !== '')
    .map((room) => checkRoom(room, 'broadcast'));
  const type = need(values.type, '--type', 'broadcast');
  const serviceKey = serviceKeyOf(values, io, 'broadcast');
  const body = await jsonBodyOf(values, io, 'broadcast');
  const http = new HipochatServer({ httpUrl, serviceKey, timeoutMs: seconds(values, 15) });
  const answer = await http.broadcast(rooms, type, body);
  if (values.json) {
    io.out(`${JSON.stringify(answer)}\n`);
    return 0;
  }
  for (const message of answer.messages) io.out(`broadcast ${type} ${message.id} into ${message.room}\n`);
  return 0;
}

/** `hipochat disconnect`: closes every connection of a user in every room. */
export async function disconnect(values: Values, io: Io): Promise<number> {
  const serviceKey = serviceKeyOf(values, io, 'disconnect');
  const http = new HipochatServer({
    httpUrl: httpOf(values, io, 'disconnect'),
    serviceKey,
    timeoutMs: seconds(values, 15),
  });
  const answer = await http.disconnectUser(need(values.user, '--user', 'disconnect'));
  io.out(
    values.json
      ? `${JSON.stringify(answer)}\n`
      : `disconnected ${answer.disconnected} connection${answer.disconnected === 1 ? '' : 's'} of ${answer.user}\n`,
  );
  return 0;
}

/** `hipochat delete`: deletes any message of a room, leaving a tombstone (moderation). */
export async function deleteMessage(values: Values, io: Io): Promise<number> {
  const serviceKey = serviceKeyOf(values, io, 'delete');
  const room = roomOf(values, 'delete');
  const id = messageIdOf(values, 'delete');
  const http = new HipochatServer({
    httpUrl: httpOf(values, io, 'delete'),
    serviceKey,
    timeoutMs: seconds(values, 15),
  });
  const tombstone = await http.deleteMessage(room, id);
  io.out(values.json ? `${JSON.stringify(tombstone)}\n` : `deleted ${tombstone.id} in ${room}\n`);
  return 0;
}

/** `hipochat members add|remove USER_ID...`: manages the members of a room. */
export async function members(values: Values, positionals: string[], io: Io): Promise<number> {
  const [action, ...ids] = positionals;
  if (action !== 'add' && action !== 'remove')
    throw new UsageError('members: say add or remove, then user ids');
  if (ids.length === 0) throw new UsageError(`members ${action}: give at least one user id`);
  const serviceKey = serviceKeyOf(values, io, 'members');
  const http = new HipochatServer({
    httpUrl: httpOf(values, io, 'members'),
    serviceKey,
    timeoutMs: seconds(values, 15),
  });
  const room = roomOf(values, 'members');
  const result = action === 'add' ? await http.addMembers(room, ids) : await http.removeMembers(room, ids);
  io.out(`${JSON.stringify(result)}\n`);
  return 0;
}
