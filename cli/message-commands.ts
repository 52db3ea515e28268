/** `hipochat edit` and `hipochat react`: changing one message of a room. */
import { type ChatMessage, HipochatClient, type SendAck } from '@hipochat/client';
import { HipochatServer } from '@hipochat/server';
import {
  httpOf,
  type Io,
  jsonBodyOf,
  messageIdOf,
  need,
  roomOf,
  seconds,
  serviceKeyOf,
  type Values,
} from './args.js';
import { clientOptions } from './chat.js';

/** Connects as the user, runs `change` on the socket, and closes. */
export async function asUser(
  values: Values,
  io: Io,
  command: string,
  change: (client: HipochatClient) => Promise<SendAck>,
): Promise<SendAck> {
  const client = new HipochatClient({ ...clientOptions(values, io, command), reconnect: false });
  try {
    await client.connect(seconds(values, 15));
    return await change(client);
  } finally {
    client.close();
  }
}

/**
 * `edit`: replaces a message's body with the JSON of `--body` or stdin (a JSON string for a chat
 * line). With `--token` the user edits their own message over the socket; with `--service-key` the
 * backend edits any message (moderation).
 */
export async function edit(values: Values, io: Io): Promise<number> {
  const room = roomOf(values, 'edit');
  const id = messageIdOf(values, 'edit');
  const body = await jsonBodyOf(values, io, 'edit');
  const backend = values['service-key'] !== undefined || (!values.token && !io.env.HIPOCHAT_TOKEN);
  if (backend) {
    const server = new HipochatServer({
      httpUrl: httpOf(values, io, 'edit'),
      serviceKey: serviceKeyOf(values, io, 'edit'),
      timeoutMs: seconds(values, 15),
    });
    const edited: ChatMessage = await server.editMessage(room, id, body);
    io.out(values.json ? `${JSON.stringify(edited)}\n` : `edited ${edited.id} in ${room}\n`);
    return 0;
  }
  const ack = await asUser(values, io, 'edit', (client) => client.edit(id, body));
  io.out(values.json ? `${JSON.stringify(ack)}\n` : `edited ${ack.id || id} in ${room}\n`);
  return 0;
}

/** `react`: toggles the user's reaction `--emoji` on a message (a second call takes it back). */
export async function react(values: Values, io: Io): Promise<number> {
  const room = roomOf(values, 'react');
  const id = messageIdOf(values, 'react');
  const emoji = need(values.emoji, '--emoji', 'react');
  const ack = await asUser(values, io, 'react', (client) => client.react(id, emoji));
  io.out(values.json ? `${JSON.stringify(ack)}\n` : `toggled ${emoji} on ${id} in ${room}\n`);
  return 0;
}
