/**
 * The usual self-hosted choice: Socket.IO with `@socket.io/redis-adapter`. Run two of these on
 * one Redis; a client joins `room` from its handshake query and every `message` event is emitted
 * to the room across both processes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const pub = new Redis(redisUrl);
const sub = pub.duplicate();
const http = createServer();
const io = new Server(http, { adapter: createAdapter(pub, sub), transports: ['websocket'] });

io.on('connection', (socket) => {
  const room = String(socket.handshake.query.room ?? '');
  void socket.join(room);
  socket.on('message', (body: unknown) => {
    io.to(room).emit('message', { room, body, at: Date.now() });
  });
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = http.address() as AddressInfo;
  process.stdout.write(`socket.io listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => {
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
});
