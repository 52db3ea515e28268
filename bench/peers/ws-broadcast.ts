/**
 * The ceiling for this machine: a minimal `ws` server that relays each frame to every socket of
 * the sender's room (`ws://host:port/?room=R`), the sender's own socket included. No storage.
 */
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

const rooms = new Map<string, Set<WebSocket>>();
const server = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });

server.on('connection', (socket, request) => {
  const room = new URL(request.url ?? '/', 'http://localhost').searchParams.get('room') ?? '';
  let members = rooms.get(room);
  if (!members) {
    members = new Set();
    rooms.set(room, members);
  }
  members.add(socket);
  socket.on('message', (data, isBinary) => {
    for (const member of members) member.send(data, { binary: isBinary });
  });
  socket.on('close', () => members.delete(socket));
  socket.on('error', () => socket.terminate());
});

server.on('listening', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`ws broadcast listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
