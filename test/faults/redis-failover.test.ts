import {
  faultGatewayEnv,
  messageFrames,
  redisCli,
  type SendOutcome,
  TrafficCounter,
} from '../support/faults.js';
import { AMQP_URL, type ChatEndpoints, startGateway } from '../support/gateway.js';
import { httpApi, type JsonAnswer } from '../support/http-api.js';
import { recordScenario } from '../support/reliability-report.js';
import {
  type HoldingProxy,
  type ReplicatedRedis,
  replicasOnline,
  startHoldingProxy,
  startReplicaOf,
  startReplicatedRedis,
} from '../support/replication.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';
import { pause } from '../support/wait.js';

jest.setTimeout(180_000);

const SERVICE_KEY = 'failover-service-key';
// Long enough for a healthy replica on a busy CI machine (prod waits 100 ms); a held link outlasts it.
const WAIT_MS = 1000;

/**
 * ElastiCache's Multi-AZ failover, locally: a primary, a replica whose replication stream goes
 * through a proxy that can hold it back (a lagging replica), and the gateway's Redis URL on a
 * proxy standing in for the primary endpoint, which moves to the promoted replica.
 */
describe('Redis primary failover (HIPOCHAT_REDIS_WAIT_REPLICAS=1)', () => {
  let pair: ReplicatedRedis;
  let endpoint: HoldingProxy;
  let chat: ChatEndpoints;
  const servers: { stop(): Promise<void> }[] = [];
  const sockets: TestSocket[] = [];
  const room = uniqueRoom('redis-failover');
  const api = httpApi(() => chat.httpUrl);
  const traffic = new TrafficCounter('rf');
  let alice: TestSocket;
  let bob: TestSocket;
  const healthy: SendOutcome[] = [];
  const lagging: SendOutcome[] = [];
  const retried: SendOutcome[] = [];
  const after: SendOutcome[] = [];
  let laggingInjection: JsonAnswer;
  let retriedInjection: JsonAnswer;
  let refusedWhileMoving = 0;
  let afterSwitchover: SendOutcome;

  const inject = (body: unknown) =>
    api.post(`/talk/item/${room}/`, body, {
      authorization: `Bearer ${SERVICE_KEY}`,
      'idempotency-key': 'failover-injection',
    });

  beforeAll(async () => {
    pair = await startReplicatedRedis();
    servers.push(pair);
    endpoint = await startHoldingProxy(pair.primary.port);
    chat = await startGateway({
      ...faultGatewayEnv,
      HIPOCHAT_REDIS_URL: `redis://127.0.0.1:${endpoint.port}/0`,
      HIPOCHAT_AMQP_URL: AMQP_URL,
      HIPOCHAT_SERVICE_KEY: SERVICE_KEY,
      HIPOCHAT_REDIS_WAIT_REPLICAS: '1',
      HIPOCHAT_REDIS_WAIT_MS: String(WAIT_MS),
    });
    alice = await openSocket(`${chat.wsUrl}/?room=${room}&token=alice`);
    bob = await openSocket(`${chat.wsUrl}/?room=${room}&token=bob`);
    sockets.push(alice, bob);

    for (let i = 0; i < 20; i += 1) healthy.push(await traffic.send(i % 2 ? bob : alice, `healthy ${i}`));

    // The replica lags: its stream is held back, so no write is confirmed within WAIT_MS.
    pair.link.hold(true);
    for (let i = 0; i < 5; i += 1) lagging.push(await traffic.send(alice, `lagging ${i}`));
    laggingInjection = await inject({ text: 'injected while lagging' });

    // The primary dies; the replica (without the held-back stream) is promoted, a replacement
    // replica joins it, and the endpoint moves to it: ElastiCache's failover.
    await pair.primary.stop();
    await redisCli(pair.replica.port, 'REPLICAOF', 'NO', 'ONE');
    const replacement = await startReplicaOf(pair.replica.port);
    servers.push(replacement);
    await replicasOnline(pair.replica.port, 1);
    endpoint.retarget(pair.replica.port);
    endpoint.cut();

    // The gateway keeps running; its client reconnects behind the moved endpoint on its own.
    for (let i = 0; i < 40; i += 1) {
      const outcome = await traffic.send(alice, `moving ${i}`);
      if (outcome.acked) break;
      refusedWhileMoving += 1;
      await pause(100);
    }
    // Senders retry what was not acknowledged, with the same clientId and Idempotency-Key.
    for (const [i, outcome] of lagging.entries()) {
      retried.push(await traffic.send(alice, `lagging ${i}`, 15_000, outcome.clientId));
    }
    retriedInjection = await inject({ text: 'injected while lagging' });
    for (let i = 0; i < 10; i += 1) after.push(await traffic.send(i % 2 ? bob : alice, `after ${i}`));

    // A planned switchover: the endpoint moves first and the old primary turns replica under the
    // gateway's open connection, so its next write is answered READONLY.
    endpoint.retarget(replacement.port);
    await redisCli(replacement.port, 'REPLICAOF', 'NO', 'ONE');
    await redisCli(pair.replica.port, 'REPLICAOF', '127.0.0.1', String(replacement.port));
    await replicasOnline(replacement.port, 1);
    afterSwitchover = await traffic.send(bob, 'after the switchover');
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.close()));
    await chat?.stop();
    await endpoint?.close();
    for (const server of servers) await server.stop();
  });

  /** The room's history: bodies by id. */
  async function history(): Promise<{ id: string; body: unknown }[]> {
    const answer = await api.get(`/talk/old/${room}/`, 'reader');
    return answer.body.oldy as { id: string; body: unknown }[];
  }

  it('acknowledges messages while the replica keeps up', () => {
    expect(healthy).toEqual(healthy.map(() => expect.objectContaining({ acked: true })));
  });

  it('answers messages sent while the replica lags with a retryable error frame, and publishes none', () => {
    for (const outcome of lagging) {
      expect(outcome).toMatchObject({
        acked: false,
        error: expect.stringMatching(/not acknowledged.*may be retried/),
      });
    }
    expect(laggingInjection.status).toBe(503);
    expect(laggingInjection.headers.get('retry-after')).toBe('1');
    expect(laggingInjection.body).toMatchObject({
      error: expect.stringMatching(/not acknowledged/),
      retryAfter: 1,
    });
  });

  it('resumes behind the moved endpoint without restarting the gateway', () => {
    expect(after).toEqual(after.map(() => expect.objectContaining({ acked: true })));
    // A write the old primary refuses (READONLY) reconnects to the new one and succeeds.
    expect(afterSwitchover.acked).toBe(true);
  });

  it('stores each retried message and injection once, and every acknowledged message is in history', async () => {
    expect(retried).toEqual(retried.map(() => expect.objectContaining({ acked: true })));
    expect(retriedInjection.status).toBe(201);
    await traffic.waitUntilDelivered(sockets, () => chat.output());
    const messages = await history();
    const ids = messages.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of traffic.ackedIds()) expect(ids).toContain(id);
    for (let i = 0; i < 5; i += 1) {
      expect(messages.filter((m) => m.body === `lagging ${i}`)).toHaveLength(1);
      // Published once: on the acknowledged retry.
      expect(messageFrames(bob).filter((f) => f.body === `lagging ${i}`)).toHaveLength(1);
    }
    expect(messages.filter((m) => JSON.stringify(m.body).includes('injected while lagging'))).toHaveLength(1);

    const tally = traffic.tally(sockets);
    expect(tally.lost).toBe(0);
    recordScenario({
      order: 9,
      scenario: 'Redis primary failover',
      injected: `primary + replica (HIPOCHAT_REDIS_WAIT_REPLICAS=1, WAIT ${WAIT_MS} ms); replication stream held back, then primary SIGKILL, replica promoted, endpoint moved; then a switchover (old primary answers READONLY)`,
      sent: traffic.sent,
      acknowledged: traffic.acked.size,
      delivered: tally.delivered,
      duplicated: tally.duplicated,
      lost: tally.lost + (ids.length - new Set(ids).size),
      result: `pass: ${lagging.length} sends while lagging got "not acknowledged … may be retried" (injection: 503, Retry-After 1); retried with the same clientId/Idempotency-Key after the failover, each stored once; ${refusedWhileMoving} send(s) refused while the endpoint moved; the first write after the switchover acked`,
    });
  });
});
