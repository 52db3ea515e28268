import { BadRequestError } from '../../core/errors.js';
import { parseRoom } from '../../core/protocol.js';
import { httpRoute } from '../shared/http.js';

/** `GET /talk/history/{room1,room2}/?limit=N`: the latest N messages (default 1) of each room. */
export const handler = httpRoute('history', async (request, { chat }) => {
  const rooms = (request.event.pathParameters?.rooms ?? '')
    .replace(/\/$/, '')
    .split(',')
    .map((room) => parseRoom(room));
  const rawLimit = request.query('limit') ?? '1';
  if (!/^\d{1,7}$/.test(rawLimit)) throw new BadRequestError('limit must be a positive integer');
  return { results: await chat.history(rooms, request.identity(), Number(rawLimit)) };
});
