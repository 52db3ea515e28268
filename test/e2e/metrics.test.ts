import { type ChatEndpoints, startGateway } from '../support/gateway.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';
import { eventually } from '../support/wait.js';

/** A JSON line of the gateway's output: a log line or an EMF record. */
type Line = Record<string, unknown> & {
  _aws?: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
};

/** The JSON lines the gateway wrote so far (stdout and stderr). */
function jsonLines(chat: ChatEndpoints): Line[] {
  return chat
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Line];
      } catch {
        return [];
      }
    });
}

// The gateway's output is what this suite reads: a deployment's goes to CloudWatch instead.
const local = process.env.HIPOCHAT_E2E_WS_URL ? describe.skip : describe;

local('metrics and logs on the local gateway', () => {
  let chat: ChatEndpoints;
  const open: TestSocket[] = [];

  beforeAll(async () => {
    // As deployed: metrics on (off locally unless HIPOCHAT_LOCAL_METRICS; the test setup silences
    // Powertools too), and debug lines with request ids.
    chat = await startGateway({
      HIPOCHAT_LOCAL_METRICS: '1',
      POWERTOOLS_METRICS_DISABLED: 'false',
      HIPOCHAT_LOG_LEVEL: 'debug',
    });
  });

  afterAll(async () => {
    await Promise.all(open.splice(0).map((socket) => socket.close()));
    await chat?.stop();
  });

  it('writes EMF records (namespace Hipochat, dimension stage) and request-id log lines for a chat message', async () => {
    // Prepare
    const room = uniqueRoom();
    const alice = await openSocket(`${chat.wsUrl}/?room=${room}&token=alice`);
    const bob = await openSocket(`${chat.wsUrl}/?room=${room}&token=bob`);
    open.push(alice, bob);

    // Act
    alice.send({ type: 'message', body: 'metered', clientId: 'm-1' });
    await bob.next((frame) => frame.body === 'metered');

    // Assess: $connect twice, $default once, one fan-out batch to both sockets.
    const records = await eventually(() => {
      const emf = jsonLines(chat).filter((line) => line._aws);
      return emf.some((r) => r.Deliveries === 2) && emf;
    }, 'the fan-out record');
    for (const record of records) {
      expect(record._aws!.CloudWatchMetrics).toEqual([
        expect.objectContaining({ Namespace: 'Hipochat', Dimensions: [['stage']] }),
      ]);
      expect(record.stage).toBe('local');
    }
    expect(records.filter((r) => r.ConnectionsOpened === 1)).toHaveLength(2);
    expect(records.filter((r) => r.MessagesAccepted === 1)).toHaveLength(1);
    const fanout = records.find((r) => r.Deliveries === 2)!;
    expect(fanout).toMatchObject({
      DeliveriesGone: 0,
      DeliveriesFailed: 0,
      FanoutBatchSize: 1,
      DeliveryLagMs: expect.any(Number),
      function_request_id: expect.any(String),
    });
    // The fan-out's log line and its EMF record share the invocation's request id.
    const logLine = jsonLines(chat).find(
      (line) =>
        line.message === 'fan-out batch done' && line.function_request_id === fanout.function_request_id,
    );
    expect(logLine).toMatchObject({
      level: 'DEBUG',
      service: 'hipochat',
      function_name: expect.stringContaining('fanout'),
      sent: 2,
    });
  });
});

local('metrics on the local gateway by default', () => {
  let chat: ChatEndpoints;
  const open: TestSocket[] = [];

  beforeAll(async () => {
    // Powertools left on, as on a machine without the test setup: the gateway alone turns EMF off.
    chat = await startGateway({ POWERTOOLS_METRICS_DISABLED: 'false', HIPOCHAT_LOG_LEVEL: 'debug' });
  });

  afterAll(async () => {
    await Promise.all(open.splice(0).map((socket) => socket.close()));
    await chat?.stop();
  });

  it('writes log lines but no EMF record unless HIPOCHAT_LOCAL_METRICS is on', async () => {
    // Prepare
    const room = uniqueRoom();
    const alice = await openSocket(`${chat.wsUrl}/?room=${room}&token=alice`);
    const bob = await openSocket(`${chat.wsUrl}/?room=${room}&token=bob`);
    open.push(alice, bob);

    // Act
    alice.send({ type: 'message', body: 'unmetered', clientId: 'm-1' });
    await bob.next((frame) => frame.body === 'unmetered');

    // Assess: the fan-out logged its batch, and nothing carried an EMF envelope.
    await eventually(
      () => jsonLines(chat).some((line) => line.message === 'fan-out batch done'),
      'the fan-out log line',
    );
    expect(jsonLines(chat).filter((line) => line._aws)).toEqual([]);
  });
});
