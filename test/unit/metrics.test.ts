import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import type * as dashboard from '../../infra/constructs/chat-metrics.js';
import { MemoryBus } from '../../lambdas/core/bus/memory-bus.js';
import {
  BadRequestError,
  ForbiddenError,
  type HttpError,
  NestingTooDeepError,
  PayloadTooLargeError,
  RateLimitedError,
  type RefusalReason,
  refusalReason,
  ServiceUnavailableError,
  toHttpError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from '../../lambdas/core/errors.js';
import type * as emitted from '../../lambdas/core/metrics.js';
import { metrics } from '../../lambdas/core/metrics.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { handler as itemHandler } from '../../lambdas/handlers/http/item.js';
import { handler as oldHandler } from '../../lambdas/handlers/http/old.js';
import { handler as fanoutHandler } from '../../lambdas/handlers/mq/fanout.js';
import type { WebSocketEvent } from '../../lambdas/handlers/shared/websocket.js';
import { handler as authorizerHandler } from '../../lambdas/handlers/ws/authorizer.js';
import { handler as connectHandler } from '../../lambdas/handlers/ws/connect.js';
import { handler as disconnectHandler } from '../../lambdas/handlers/ws/disconnect.js';
import { handler as messageHandler } from '../../lambdas/handlers/ws/message.js';
import { rabbitMqEvent } from '../../local/mq-events.js';
import type { ChatMessage } from '../../protocol/index.js';
import {
  fixture,
  installRuntime,
  lambdaContext,
  linesWritten,
  resetRuntime,
  stubProfileEndpoint,
} from '../support/handler-runtime.js';
import { chatMessage } from '../support/messages.js';
import { RecordingSender } from '../support/recording-sender.js';

// test/support/setup-env.ts silences metrics for the other suites; this one reads them. Both
// variables are read at the first publish.
process.env.POWERTOOLS_METRICS_DISABLED = 'false';
process.env.HIPOCHAT_STAGE = 'unit';

/** `true` when both types hold the same values. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** One EMF record as CloudWatch reads it. */
interface EmfRecord {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

/** The EMF records written to stdout while `act` runs (whether it resolves or rejects). */
async function emfOf(act: () => Promise<unknown>): Promise<EmfRecord[]> {
  return (await linesWritten(process.stdout, () => act().catch(() => undefined)))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as EmfRecord);
}

/** The metric names of a record, with their units. */
const unitsOf = (record: EmfRecord) =>
  Object.fromEntries(record._aws.CloudWatchMetrics[0]!.Metrics.map((m) => [m.Name, m.Unit]));

/** A management API that records frames, answers 410 for `gone` and fails for `broken`. */
class FlakySender extends RecordingSender {
  broken = new Set<string>();
  override async post(connectionId: string, data: Uint8Array) {
    if (this.broken.has(connectionId)) throw new Error('500 after retries');
    return super.post(connectionId, data);
  }
}

const batch = (messages: ChatMessage[]) =>
  rabbitMqEvent(
    'hipochat.fanout.0::/',
    messages.map((m) => ({ body: Buffer.from(JSON.stringify(m)), messageId: m.id, redelivered: false })),
  );

const connectAll = async (room: string, ids: string[]) => {
  for (const id of ids) await store.connect(room, id, { userId: id, profile: {} }, 60);
};

const PUSH_URL = 'https://push.example.com/hook';

let store: MemoryStore;
let bus: MemoryBus;
let sender: FlakySender;
/** What the push webhook answers. */
let pushStatus: number;

beforeEach(() => {
  store = new MemoryStore();
  bus = new MemoryBus(1, 1);
  sender = new FlakySender();
  pushStatus = 200;
  installRuntime(
    {
      HIPOCHAT_PUSH_NOTIFICATION_URL: PUSH_URL,
      HIPOCHAT_DELIVERY_LIMIT: '1',
      HIPOCHAT_RATE_LIMIT_PER_MINUTE: '2',
    },
    { store, bus, sender },
  );
  // The push webhook answers `pushStatus`.
  stubProfileEndpoint((url) => (url === PUSH_URL ? new Response(null, { status: pushStatus }) : undefined));
});

afterEach(resetRuntime);

describe('chat metrics (CloudWatch embedded metric format)', () => {
  describe('fan-out', () => {
    it("publishes a batch as one record in namespace Hipochat with the stage as its only dimension: deliveries, gone, failed, batch size, duration and each message's largest lag", async () => {
      // Prepare: three connections, one of them gone; two messages accepted 2 s ago.
      await connectAll('lobby', ['ann', 'bob', 'cat']);
      sender.gone.add('cat');
      const acceptedAt = Date.now() / 1000 - 2;
      const messages = [1, 2].map((n) => chatMessage(n, { timestamp: acceptedAt, type: 'event' }));

      // Act
      const records = await emfOf(() => fanoutHandler(batch(messages), lambdaContext('req-fanout')));

      // Assess
      expect(records).toHaveLength(1);
      const record = records[0]!;
      expect(record._aws.CloudWatchMetrics).toEqual([
        expect.objectContaining({ Namespace: 'Hipochat', Dimensions: [['stage']] }),
      ]);
      expect(record).toMatchObject({
        stage: 'unit',
        function_request_id: 'req-fanout',
        Deliveries: 4,
        DeliveriesGone: 1,
        DeliveriesFailed: 0,
        FanoutBatchSize: 2,
        FanoutDurationMs: expect.any(Number),
      });
      expect(record.DeliveryLagMs).toEqual([expect.any(Number), expect.any(Number)]);
      for (const lag of record.DeliveryLagMs as number[]) {
        expect(lag).toBeGreaterThanOrEqual(2000);
        expect(lag).toBeLessThan(60_000);
      }
      expect(unitsOf(record)).toEqual({
        Deliveries: 'Count',
        DeliveriesGone: 'Count',
        DeliveriesFailed: 'Count',
        FanoutBatchSize: 'Count',
        FanoutDurationMs: 'Milliseconds',
        DeliveryLagMs: 'Milliseconds',
      });
    });

    it('counts posts that failed after their retries and the message dead-lettered at the delivery limit', async () => {
      // Prepare
      await connectAll('lobby', ['ann', 'bob']);
      sender.broken.add('bob');

      // Act
      const records = await emfOf(() => fanoutHandler(batch([chatMessage(1, { type: 'event' })])));

      // Assess
      expect(records).toEqual([
        expect.objectContaining({ Deliveries: 1, DeliveriesFailed: 1, DeadLettered: 1 }),
      ]);
      expect(bus.deadLetters).toHaveLength(1);
    });

    it.each([
      [200, 'PushSent'],
      [400, 'PushFailed'],
    ])('counts a push webhook answering %i as %s', async (status, name) => {
      // Prepare: dan is a member with no live connection.
      pushStatus = status;
      await connectAll('lobby', ['ann']);
      await store.addMembers('lobby', ['dan']);

      // Act
      const records = await emfOf(() => fanoutHandler(batch([chatMessage(1)])));

      // Assess
      expect(records).toEqual([expect.objectContaining({ [name]: 1, Deliveries: 1 })]);
    });

    it('keeps the figures of overlapping invocations apart', async () => {
      // Prepare
      await connectAll('lobby', ['ann']);
      await connectAll('garden', ['bob', 'cat']);
      const inGarden = (n: number) => chatMessage(n, { room: 'garden', type: 'event' });

      // Act
      const records = await emfOf(() =>
        Promise.all([
          fanoutHandler(batch([chatMessage(1, { type: 'event' })]), lambdaContext('req-lobby')),
          fanoutHandler(batch([inGarden(1), inGarden(2), inGarden(3)]), lambdaContext('req-garden')),
        ]),
      );

      // Assess
      const byRequest = Object.fromEntries(records.map((r) => [r.function_request_id, r]));
      expect(byRequest['req-lobby']).toMatchObject({ Deliveries: 1, FanoutBatchSize: 1 });
      expect(byRequest['req-garden']).toMatchObject({ Deliveries: 6, FanoutBatchSize: 3 });
    });
  });

  describe('messages', () => {
    const frame = (body: unknown) => {
      const event = fixture<WebSocketEvent>('ws-default');
      event.body = typeof body === 'string' ? body : JSON.stringify(body);
      return event;
    };

    it('counts an accepted message once, not its retry under the same clientId', async () => {
      // Act
      const first = await emfOf(() =>
        messageHandler(frame({ type: 'message', body: 'hi', clientId: 'c-1' })),
      );
      const retry = await emfOf(() =>
        messageHandler(frame({ type: 'message', body: 'hi', clientId: 'c-1' })),
      );

      // Assess
      expect(first).toEqual([expect.objectContaining({ MessagesAccepted: 1, stage: 'unit' })]);
      expect(retry).toEqual([]);
    });

    it.each<[string, RefusalReason, () => WebSocketEvent]>([
      ['over the size limit', 'size', () => frame({ type: 'message', body: 'x'.repeat(200_000) })],
      [
        'nested too deeply',
        'depth',
        () => frame(`{"type":"message","body":${'['.repeat(100)}${']'.repeat(100)}}`),
      ],
      ['of an unknown type', 'type', () => frame({ type: 'bogus', body: 'hi' })],
      ['that is not JSON', 'type', () => frame('not json')],
      [
        'from a connection nobody vouched for',
        'auth',
        () => {
          const event = frame({ type: 'message', body: 'hi' });
          delete event.requestContext.authorizer;
          return event;
        },
      ],
    ])(
      'counts a websocket message %s as MessagesRefused with reason %s, in a record of its own',
      async (_case, reason, event) => {
        // Act
        const records = await emfOf(() => messageHandler(event()));

        // Assess
        const refused = records.filter((r) => 'MessagesRefused' in r);
        expect(refused).toEqual([expect.objectContaining({ MessagesRefused: 1, stage: 'unit', reason })]);
        expect(refused[0]!._aws.CloudWatchMetrics).toEqual([
          expect.objectContaining({ Namespace: 'Hipochat', Dimensions: [['stage', 'reason']] }),
        ]);
      },
    );

    it('counts a message over the rate limit as refused for rate', async () => {
      // Prepare: the room takes 2 a minute.
      await emfOf(async () => {
        for (let n = 0; n < 2; n += 1) await messageHandler(frame({ type: 'message', body: n }));
      });

      // Act
      const records = await emfOf(() => messageHandler(frame({ type: 'message', body: 'third' })));

      // Assess
      expect(records).toEqual([expect.objectContaining({ MessagesRefused: 1, reason: 'rate' })]);
    });

    it('counts a message the broker could not take as refused for unavailable', async () => {
      // Prepare
      jest.spyOn(bus, 'publish').mockRejectedValue(new ServiceUnavailableError('broker unavailable'));

      // Act
      const records = await emfOf(() => messageHandler(frame({ type: 'message', body: 'hi' })));

      // Assess
      expect(records).toEqual([expect.objectContaining({ MessagesRefused: 1, reason: 'unavailable' })]);
    });

    it('counts an injection by POST /talk/item: accepted, or refused for auth with a refused token', async () => {
      // Prepare
      const event = (token: string): APIGatewayProxyEventV2 => ({
        ...fixture<APIGatewayProxyEventV2>('http-item'),
        headers: { 'content-type': 'application/json', authorization: `Token ${token}` },
      });

      // Act
      const accepted = await emfOf(() => itemHandler(event('alice')));
      const refused = await emfOf(() => itemHandler(event('X')));

      // Assess
      expect(accepted).toEqual([expect.objectContaining({ MessagesAccepted: 1 })]);
      expect(refused).toEqual([
        expect.objectContaining({ AuthRefused: 1 }),
        expect.objectContaining({ MessagesRefused: 1, reason: 'auth' }),
      ]);
    });
  });

  describe('connections and authentication', () => {
    it('counts an opened and a closed connection', async () => {
      // Act
      const opened = await emfOf(() => connectHandler(fixture<WebSocketEvent>('ws-connect')));
      const closed = await emfOf(() => disconnectHandler(fixture<WebSocketEvent>('ws-disconnect')));

      // Assess
      expect(opened).toEqual([expect.objectContaining({ ConnectionsOpened: 1 })]);
      expect(closed).toEqual([expect.objectContaining({ ConnectionsClosed: 1 })]);
    });

    it.each([
      ['a refused token (401)', { room: 'lobby', token: 'X' }],
      ['a closed room (Deny, 403)', { room: 'vip-lounge', token: 'alice' }],
    ])('counts %s at the authorizer as AuthRefused', async (_case, query) => {
      // Prepare
      const event = fixture<APIGatewayRequestAuthorizerEvent>('ws-authorizer');
      event.queryStringParameters = query;

      // Act
      const records = await emfOf(() => authorizerHandler(event));

      // Assess
      expect(records).toEqual([expect.objectContaining({ AuthRefused: 1 })]);
    });

    it('counts an HTTP request with a refused token (401) as AuthRefused, not as a refused message', async () => {
      // Prepare
      const event = fixture<APIGatewayProxyEventV2>('http-old');
      event.headers = { authorization: 'Token X' };

      // Act
      const records = await emfOf(() => oldHandler(event));

      // Assess
      expect(records).toEqual([expect.objectContaining({ AuthRefused: 1 })]);
      expect(records[0]).not.toHaveProperty('MessagesRefused');
    });
  });

  describe('the recorder', () => {
    it('writes no record for an invocation that recorded nothing', async () => {
      // Prepare
      const event = fixture<APIGatewayProxyEventV2>('http-old');
      let answer: APIGatewayProxyStructuredResultV2 | undefined;

      // Act
      const records = await emfOf(async () => {
        answer = (await oldHandler(event)) as APIGatewayProxyStructuredResultV2;
      });

      // Assess
      expect(answer?.statusCode).toBe(200);
      expect(records).toEqual([]);
    });

    it('does nothing outside an invocation', async () => {
      // Act
      const records = await emfOf(async () => {
        metrics.count('Deliveries', 3);
        metrics.observe('DeliveryLagMs', 12);
        metrics.refused('rate');
        await new Promise((done) => setImmediate(done));
      });

      // Assess
      expect(records).toEqual([]);
    });

    it('writes the names, dimensions and reasons the dashboard and alarms read (checked by tsc)', () => {
      // Type-only imports: a mismatch fails the type check, and aws-cdk-lib stays out of this suite.
      const agree: [
        Same<typeof emitted.METRIC_NAMESPACE, typeof dashboard.METRIC_NAMESPACE>,
        Same<typeof emitted.STAGE_DIMENSION, typeof dashboard.STAGE_DIMENSION>,
        Same<typeof emitted.REASON_DIMENSION, typeof dashboard.REASON_DIMENSION>,
        Same<emitted.ChatMetricName, dashboard.ChatMetricName>,
        Same<RefusalReason, dashboard.RefusalReason>,
      ] = [true, true, true, true, true];
      expect(agree).toEqual([true, true, true, true, true]);
    });

    it.each<[RefusalReason, HttpError]>([
      ['rate', new RateLimitedError()],
      ['size', new PayloadTooLargeError(1024)],
      ['depth', new NestingTooDeepError(32)],
      ['auth', new UnauthorizedError()],
      ['auth', new ForbiddenError('room is closed to non-members')],
      ['type', new BadRequestError('type must be one of: message')],
      ['type', new UnsupportedMediaTypeError()],
      ['unavailable', new ServiceUnavailableError('broker unavailable')],
      ['unavailable', toHttpError(new Error('boom'))],
    ])('gives the refusal reason %s to a %p', (reason, error) => {
      expect(refusalReason(error)).toBe(reason);
    });
  });
});
