import {
  faultGatewayEnv,
  messageFrames,
  type OwnRedis,
  startRedis,
  TrafficCounter,
} from '../support/faults.js';
import { AMQP_URL, type ChatEndpoints, startGateway } from '../support/gateway.js';
import { recordScenario } from '../support/reliability-report.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';

jest.setTimeout(120_000);

// Longer than the store's connect timeout (2 s): a send caught in flight by the crash waits that
// long and would otherwise land after the restart, leaving no send that saw Redis down.
const DOWN_MS = 4000;
// Posts take this long, so the fan-out is still delivering messages acknowledged before the crash
// when Redis goes down. An outage is no fault of theirs and must cost them no delivery attempt:
// with a low delivery limit, a fan-out that failed their batch again and again while Redis is
// down (the queue redelivering it each time) would dead-letter them.
const POST_LATENCY_MS = 50;
const DELIVERY_LIMIT = 2;

describe('Redis restart', () => {
  let redis: OwnRedis;
  let chat: ChatEndpoints;
  const sockets: TestSocket[] = [];
  const room = uniqueRoom('redis-restart');
  const traffic = new TrafficCounter('rr');
  let alice: TestSocket;
  let bob: TestSocket;
  const duringOutage: string[] = [];
  let resumedAfter = 0;
  const afterRecovery: boolean[] = [];
  /** Acknowledged messages some socket had not received when Redis was killed. */
  let onTheWayAtCrash: string[] = [];

  beforeAll(async () => {
    // Append-only file fsynced on every write: a crash loses nothing Redis acknowledged.
    redis = await startRedis({ durable: true });
    chat = await startGateway({
      ...faultGatewayEnv,
      HIPOCHAT_LOCAL_POST_LATENCY_MS: String(POST_LATENCY_MS),
      HIPOCHAT_DELIVERY_LIMIT: String(DELIVERY_LIMIT),
      HIPOCHAT_REDIS_URL: redis.url,
      HIPOCHAT_AMQP_URL: AMQP_URL,
    });
    alice = await openSocket(`${chat.wsUrl}/?room=${room}&token=alice`);
    bob = await openSocket(`${chat.wsUrl}/?room=${room}&token=bob`);
    sockets.push(alice, bob);

    // Steady traffic, then a crash in the middle of it, then traffic again.
    for (let i = 0; i < 20; i += 1) await traffic.send(alice, `before ${i}`);
    onTheWayAtCrash = [...new Set(sockets.flatMap((socket) => traffic.missing(socket)))];
    const restart = redis.crash(DOWN_MS);
    let restarted = false;
    void restart.then(() => {
      restarted = true;
    });
    for (let i = 0; i < 60 && !restarted; i += 1) {
      const outcome = await traffic.send(i % 2 ? bob : alice, `during ${i}`);
      if (!outcome.acked) duringOutage.push(outcome.error);
      await new Promise((done) => setTimeout(done, 50));
    }
    await restart;
    // The gateway keeps running; its Redis client reconnects on its own.
    for (let i = 0; i < 40; i += 1) {
      resumedAfter += 1;
      if ((await traffic.send(alice, `recovering ${i}`)).acked) break;
      await new Promise((done) => setTimeout(done, 100));
    }
    for (let i = 0; i < 20; i += 1)
      afterRecovery.push((await traffic.send(i % 2 ? bob : alice, `after ${i}`)).acked);
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.close()));
    await chat?.stop();
    await redis?.stop();
  });

  it('answers senders with a clear error frame while Redis is down', () => {
    expect(duringOutage.length).toBeGreaterThan(0);
    for (const error of duringOutage) expect(error).toMatch(/unavailable/);
  });

  it('resumes without restarting the gateway', () => {
    expect(afterRecovery).toEqual(Array.from({ length: 20 }, () => true));
    // Every send got an answer: an ack or an error frame naming its clientId.
    expect(traffic.errors.length + traffic.acked.size).toBe(traffic.sent);
  });

  it('loses no acknowledged message: every live socket receives each once, history holds each once', async () => {
    // The crash caught the fan-out with acknowledged messages still to deliver.
    expect(onTheWayAtCrash.length).toBeGreaterThan(0);
    await traffic.waitUntilDelivered(sockets, () => chat.output());
    const response = await fetch(`${chat.httpUrl}/talk/old/${room}/`, {
      headers: { authorization: 'Token reader' },
    });
    const history = ((await response.json()) as { oldy: { id: string }[] }).oldy.map((m) => m.id);
    expect(new Set(history).size).toBe(history.length);
    for (const id of traffic.ackedIds()) expect(history).toContain(id);

    const tally = traffic.tally(sockets);
    expect(tally.lost).toBe(0);
    recordScenario({
      order: 1,
      scenario: 'Redis restart',
      injected: `redis-server SIGKILL mid-traffic (AOF fsync always), down ${DOWN_MS / 1000} s with ${onTheWayAtCrash.length} acknowledged messages still on their way to sockets, restarted on the same port; ${duringOutage.length} sends refused while down`,
      sent: traffic.sent,
      acknowledged: traffic.acked.size,
      delivered: tally.delivered,
      duplicated: tally.duplicated,
      lost: tally.lost + (history.length - new Set(history).size),
      result: `pass: error frames "${[...new Set(duringOutage)].join('", "')}" while down; traffic resumed ${resumedAfter} send(s) after restart`,
    });
    expect(messageFrames(alice).length).toBeGreaterThan(0);
  });
});
