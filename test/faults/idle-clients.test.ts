import {
  faultGatewayEnv,
  type OwnRedis,
  redisCli,
  startRedis,
  startTcpProxy,
  type TcpProxy,
  TrafficCounter,
} from '../support/faults.js';
import { type ChatEndpoints, startGateway } from '../support/gateway.js';
import { recordScenario } from '../support/reliability-report.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';
import { pause } from '../support/wait.js';

jest.setTimeout(120_000);

const ROUNDS = 6;

describe('idle clients', () => {
  let redis: OwnRedis;
  let proxy: TcpProxy;
  let chat: ChatEndpoints;
  const room = uniqueRoom('idle');
  const traffic = new TrafficCounter('id');
  const httpOutcomes: number[] = [];
  let alice: TestSocket;
  let bob: TestSocket;

  const freeze = () => process.kill(chat.pid!, 'SIGSTOP');
  const thaw = () => process.kill(chat.pid!, 'SIGCONT');

  beforeAll(async () => {
    redis = await startRedis();
    proxy = await startTcpProxy(5672);
    chat = await startGateway({
      ...faultGatewayEnv,
      HIPOCHAT_REDIS_URL: redis.url,
      HIPOCHAT_AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
    });
    alice = await openSocket(`${chat.wsUrl}/?room=${room}&token=alice`);
    bob = await openSocket(`${chat.wsUrl}/?room=${room}&token=bob`);
    expect((await traffic.send(alice, 'warm-up')).acked).toBe(true);

    for (let round = 0; round < ROUNDS; round += 1) {
      // The process is frozen between invocations (as a Lambda is); meanwhile the servers close
      // its idle sockets: Redis kills the client, the broker side of the AMQP link goes away.
      freeze();
      // Odd rounds close only the AMQP link, so the publish is the first thing to hit a dead socket.
      if (round % 2 === 0) await redisCli(redis.port, 'client', 'kill', 'type', 'normal');
      proxy.cut();
      await pause(200);
      // The next requests are already waiting when the process thaws.
      const sent = traffic.send(round % 2 ? bob : alice, `after idle ${round}`);
      const read = fetch(`${chat.httpUrl}/talk/notification/${room}/`, {
        headers: { authorization: 'Token bob' },
      }).then((response) => response.status);
      await pause(100);
      thaw();
      await sent;
      httpOutcomes.push(await read);
      await pause(300);
    }
  });

  afterAll(async () => {
    if (chat?.pid) thaw();
    if (process.env.FAULTS_DEBUG) process.stderr.write(chat.output());
    await Promise.all([alice, bob].map((socket) => socket?.close()));
    await chat?.stop();
    await proxy?.close();
    await redis?.stop();
  });

  it('serves the first request after Redis and the broker closed idle sockets without an error', () => {
    expect(traffic.errors).toEqual([]);
    expect(httpOutcomes).toEqual(Array.from({ length: ROUNDS }, () => 200));
  });

  it('delivers every message sent right after the freeze', async () => {
    await traffic.waitUntilDelivered([alice, bob], () => chat.output());
    const tally = traffic.tally([alice, bob]);
    expect(tally.lost).toBe(0);
    recordScenario({
      order: 7,
      scenario: 'Idle clients',
      injected: `${ROUNDS}× gateway frozen (SIGSTOP) while its AMQP sockets are dropped by the proxy (and, every other round, Redis CLIENT KILLs it); a ws send and an HTTP read queued, then thawed`,
      sent: traffic.sent,
      acknowledged: traffic.acked.size,
      delivered: tally.delivered,
      duplicated: tally.duplicated,
      lost: tally.lost,
      result: `pass: no failed user request (${httpOutcomes.filter((status) => status === 200).length}/${httpOutcomes.length} HTTP reads 200; before the fix every first send got "store unavailable"); dead sockets replaced on the next request`,
    });
  });
});
