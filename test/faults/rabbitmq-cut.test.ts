import {
  faultGatewayEnv,
  type OwnRedis,
  startRedis,
  startTcpProxy,
  type TcpProxy,
  TrafficCounter,
} from '../support/faults.js';
import { type ChatEndpoints, startGateway } from '../support/gateway.js';
import { recordScenario } from '../support/reliability-report.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';
import { eventually, pause } from '../support/wait.js';

jest.setTimeout(120_000);

describe('RabbitMQ connection cut', () => {
  let redis: OwnRedis;
  let proxy: TcpProxy;
  let chat: ChatEndpoints;
  const room = uniqueRoom('amqp-cut');
  const traffic = new TrafficCounter('ac');
  const sockets: TestSocket[] = [];
  const refused: string[] = [];
  let history: string[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    proxy = await startTcpProxy(5672);
    chat = await startGateway({
      ...faultGatewayEnv,
      HIPOCHAT_REDIS_URL: redis.url,
      // Publisher and poller both reach the broker through the proxy.
      HIPOCHAT_AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
    });
    for (const user of ['alice', 'bob', 'carol']) {
      sockets.push(await openSocket(`${chat.wsUrl}/?room=${room}&token=${user}`));
    }
    const [alice, bob] = sockets as [TestSocket, TestSocket];

    let cutDone = false;
    const sender = async (socket: TestSocket, name: string) => {
      for (let i = 0; i < 40; i += 1) {
        const outcome = await traffic.send(socket, `${name} ${i}`);
        if (!outcome.acked) refused.push(outcome.error);
        if (i >= 25 && cutDone) break;
        await pause(30);
      }
    };
    const cut = (async () => {
      await eventually(() => traffic.acked.size >= 15, '15 acknowledged messages');
      // The broker's side goes away: every AMQP socket drops, new ones are refused for a while.
      proxy.refuse(true);
      proxy.cut();
      await pause(1500);
      proxy.refuse(false);
      await pause(2000);
      cutDone = true;
    })();
    await Promise.all([sender(alice, 'alice'), sender(bob, 'bob'), cut]);
    // A last message from each sender after recovery.
    for (const socket of [alice, bob]) {
      for (let i = 0; i < 20; i += 1) {
        if ((await traffic.send(socket, `final ${i}`)).acked) break;
        await pause(250);
      }
    }
  });

  afterAll(async () => {
    const tally = traffic.tally(sockets);
    const ghosts = history.filter((id) => !traffic.ackedIds().has(id)).length;
    recordScenario({
      order: 2,
      scenario: 'RabbitMQ connection cut',
      injected: `TCP proxy in front of RabbitMQ drops every AMQP socket (publisher and consumer) mid-traffic and refuses new ones for 1.5 s; ${refused.length} sends refused`,
      sent: traffic.sent,
      acknowledged: traffic.acked.size,
      delivered: tally.delivered,
      duplicated: tally.duplicated,
      lost: tally.lost + (history.length - new Set(history).size),
      result:
        tally.lost === 0 && ghosts === 0 && history.length > 0
          ? `pass: refused sends got "${[...new Set(refused)].join('", "')}"; redelivered copies deduped by id`
          : `FAIL: lost ${tally.lost}, unacknowledged in history ${ghosts}`,
    });
    await Promise.all(sockets.map((socket) => socket.close()));
    await chat?.stop();
    await proxy?.close();
    await redis?.stop();
  });

  it('answers every publish with an ack or an error frame naming its clientId', () => {
    expect(traffic.acked.size + traffic.errors.length).toBe(traffic.sent);
    for (const error of refused) expect(error).toMatch(/unavailable/);
  });

  it('delivers every acknowledged message to each live socket exactly once after dedupe', async () => {
    await traffic.waitUntilDelivered(sockets, () => chat.output(), 40_000);
    expect(traffic.tally(sockets).lost).toBe(0);
  });

  it('keeps history free of duplicates and of refused messages', async () => {
    const response = await fetch(`${chat.httpUrl}/talk/old/${room}/`, {
      headers: { authorization: 'Token reader' },
    });
    history = ((await response.json()) as { oldy: { id: string }[] }).oldy.map((m) => m.id);
    expect(new Set(history).size).toBe(history.length);
    expect(new Set(history)).toEqual(traffic.ackedIds());
  });
});
