import {
  faultGatewayEnv,
  type OwnCluster,
  redisCli,
  startRedisCluster,
  TrafficCounter,
} from '../support/faults.js';
import { AMQP_URL, type ChatEndpoints, startGateway } from '../support/gateway.js';
import { recordScenario } from '../support/reliability-report.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';

jest.setTimeout(120_000);

const SERVICE_KEY = 'cluster-service-key';

describe('Redis cluster mode', () => {
  let cluster: OwnCluster;
  let chat: ChatEndpoints;
  const sockets: TestSocket[] = [];
  const totals = { sent: 0, acknowledged: 0, delivered: 0, duplicated: 0, lost: 0 };
  const rooms = [uniqueRoom('cluster-a'), uniqueRoom('cluster-b'), uniqueRoom('cluster-c')];

  const connect = async (room: string, token: string) => {
    const socket = await openSocket(`${chat.wsUrl}/?room=${room}&token=${token}`);
    sockets.push(socket);
    return socket;
  };
  const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const response = await fetch(`${chat.httpUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers of several routes, checked field by field
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    cluster = await startRedisCluster();
    chat = await startGateway({
      ...faultGatewayEnv,
      HIPOCHAT_REDIS_URL: cluster.url,
      HIPOCHAT_REDIS_CLUSTER: 'true',
      HIPOCHAT_AMQP_URL: AMQP_URL,
      HIPOCHAT_SERVICE_KEY: SERVICE_KEY,
    });
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.close()));
    await chat?.stop();
    await cluster?.stop();
  });

  it('puts the rooms in different hash slots', async () => {
    const slots = await Promise.all(
      rooms.map(async (room) => Number(await redisCli(cluster.ports[0]!, 'cluster', 'keyslot', `{${room}}`))),
    );
    expect(new Set(slots).size).toBe(rooms.length);
  });

  it('runs the chat: messages, acks and delivery to every socket of the room', async () => {
    for (const room of rooms) {
      const pair = [await connect(room, 'alice'), await connect(room, 'bob')];
      const roomTraffic = new TrafficCounter(room);
      for (let i = 0; i < 5; i += 1) await roomTraffic.send(pair[i % 2]!, `${room} ${i}`);
      expect(roomTraffic.acked.size).toBe(roomTraffic.sent);
      await roomTraffic.waitUntilDelivered(pair, () => chat.output());
      const tally = roomTraffic.tally(pair);
      totals.sent += roomTraffic.sent;
      totals.acknowledged += roomTraffic.acked.size;
      totals.delivered += tally.delivered;
      totals.duplicated += tally.duplicated;
      totals.lost += tally.lost;
    }
    expect(totals.lost).toBe(0);
  });

  it('serves old, history, notification and item', async () => {
    const [room, other] = rooms as [string, string];
    const item = await call(
      'POST',
      `/talk/item/${room}/?type=notification`,
      { authorization: 'Token backend' },
      {
        n: 1,
      },
    );
    expect(item.status).toBe(201);
    expect((await call('GET', `/talk/notification/${room}/`, { authorization: 'Token carol' })).body).toEqual(
      {
        notification: 0,
        mentions: 0,
      },
    );
    const old = await call('GET', `/talk/old/${room}/`, { authorization: 'Token bob' });
    expect(old.status).toBe(200);
    expect(old.body.oldy).toHaveLength(6);
    const history = await call('GET', `/talk/history/${room},${other}/?limit=3`, {
      authorization: 'Token bob',
    });
    expect(history.status).toBe(200);
    expect(history.body.results.map((r: { messages: unknown[] }) => r.messages.length)).toEqual([3, 3]);
    const ticket = await call('POST', `/talk/ticket/${room}/`, { authorization: 'Token dave' });
    expect(ticket.status).toBe(201);
    const withTicket = await openSocket(`${chat.wsUrl}/?room=${room}&ticket=${ticket.body.ticket}`);
    sockets.push(withTicket);
    expect(withTicket.ws.readyState).toBe(withTicket.ws.OPEN);
  });

  it('manages membership', async () => {
    const room = rooms[2]!;
    const service = { authorization: `Bearer ${SERVICE_KEY}` };
    expect((await call('POST', `/talk/new-chat-room/${room}/`, service, { members: ['zoe'] })).status).toBe(
      200,
    );
    await call('POST', `/talk/item/${room}/?type=message`, { authorization: 'Token ann' }, { n: 1 });
    expect((await call('GET', `/talk/notification/${room}/`, { authorization: 'Token zoe' })).body).toEqual({
      notification: 1,
      mentions: 0,
    });
    const removed = await call('POST', `/talk/unsubscribe/${room}/`, service, { members: ['bob'] });
    expect(removed.body).toEqual({ room, removed: ['bob'], disconnected: 1 });
  });

  it('never hits a CROSSSLOT error', () => {
    expect(chat.output()).not.toMatch(/CROSSSLOT|MOVED|internal error/);
    recordScenario({
      order: 8,
      scenario: 'Redis cluster mode',
      injected:
        '3-node redis cluster (no replicas), 3 rooms on 3 different slots; chat, old, history, item, notification, ticket, membership',
      ...totals,
      result: 'pass: every route answered; no CROSSSLOT',
    });
  });
});
