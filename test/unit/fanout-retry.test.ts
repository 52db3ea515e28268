import { LimitExceededException } from '@aws-sdk/client-apigatewaymanagementapi';
import type { Context } from 'aws-lambda';
import { MemoryBus } from '../../lambdas/core/bus/memory-bus.js';
import { loadConfig } from '../../lambdas/core/config.js';
import type { ConnectionSender } from '../../lambdas/core/connections.js';
import {
  INVOCATION_MARGIN_MS,
  invocationDeadline,
  type SliceInvoker,
  type SliceRequest,
  type SliceResult,
} from '../../lambdas/core/fanout-slices.js';
import { sliceNoteName, TARGETS_HEADER, TARGETS_NOTE_HEADER } from '../../lambdas/core/fanout-targets.js';
import { InvokeError } from '../../lambdas/core/lambda-invoker.js';
import { createRuntime, type Runtime, setRuntime } from '../../lambdas/core/runtime.js';
import { TimeoutError } from '../../lambdas/core/signed-endpoint.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { handler as fanout } from '../../lambdas/handlers/mq/fanout.js';
import { rabbitMqEvent } from '../../local/mq-events.js';
import type { ChatMessage } from '../../protocol/index.js';
import { chatMessage } from '../support/messages.js';

const SLICE_SIZE = 4;

/** A message on its way through the queue, with the headers a requeue gave it. */
interface Queued {
  message: ChatMessage;
  headers?: Record<string, string>;
}

/** A bus whose requeues wait in `requeued` for the test to hand back, as the shard queue would. */
class RequeueingBus extends MemoryBus {
  requeued: Queued[] = [];
  override async requeue(message: ChatMessage, headers: Readonly<Record<string, string>>) {
    this.requeued.push({ message, headers: { ...headers } });
  }
}

/** A management API that fails the posts `refuse` picks and records every frame it delivered. */
class ScriptedSender implements ConnectionSender {
  /** Each delivered message as `<connectionId> <messageId>`, batch frames unpacked. */
  delivered: string[] = [];
  refuse: (connectionId: string, messageId: string) => Error | undefined = () => undefined;

  async post(connectionId: string, data: Uint8Array) {
    const frame = JSON.parse(Buffer.from(data).toString()) as ChatMessage & { messages?: ChatMessage[] };
    const messages = frame.type === 'batch' ? frame.messages! : [frame];
    for (const message of messages) {
      const error = this.refuse(connectionId, message.id);
      if (error) throw error;
    }
    for (const message of messages) this.delivered.push(`${connectionId} ${message.id}`);
    return 'sent' as const;
  }

  async disconnect() {}

  /** The message ids one connection received, in order. */
  idsOf(connectionId: string): string[] {
    return this.delivered.filter((d) => d.startsWith(`${connectionId} `)).map((d) => d.split(' ')[1]!);
  }
}

/**
 * The delivery function in-process, with the failures of a real invocation: `outcome` picks, per
 * request, whether it runs and answers, runs but its answer is lost (timeout), or never runs.
 */
class ScriptedSlices implements SliceInvoker {
  requests: SliceRequest[] = [];
  outcome: (request: SliceRequest) => 'answer' | 'timeout' | 'throttled' = () => 'answer';
  runtime?: Runtime;

  async deliver(request: SliceRequest): Promise<SliceResult> {
    this.requests.push(structuredClone(request));
    const outcome = this.outcome(request);
    if (outcome === 'throttled') throw new InvokeError('Invoke answered 429 TooManyRequestsException', 429);
    const result = await this.runtime!.fanout.deliverSlice(JSON.parse(JSON.stringify(request)));
    if (outcome === 'timeout') throw new TimeoutError('no answer within 28000 ms');
    return JSON.parse(JSON.stringify(result));
  }
}

const throttled = () => new LimitExceededException({ message: 'Too Many Requests', $metadata: {} });
const internalError = () =>
  Object.assign(new Error('Internal server error'), { $metadata: { httpStatusCode: 500 } });

describe('fan-out retries, one per failure path', () => {
  let store: MemoryStore;
  let bus: RequeueingBus;
  let sender: ScriptedSender;
  let slices: ScriptedSlices;

  beforeEach(() => {
    store = new MemoryStore();
    bus = new RequeueingBus(1, 5);
    sender = new ScriptedSender();
    slices = new ScriptedSlices();
    const config = loadConfig({
      HIPOCHAT_FANOUT_SLICE_SIZE: String(SLICE_SIZE),
      HIPOCHAT_DELIVERY_LIMIT: '5',
    });
    slices.runtime = createRuntime(config, { store, bus, sender, slices });
    setRuntime(slices.runtime);
  });

  afterEach(() => setRuntime(undefined));

  /** The requeues' messages and targets (from their headers), as they happen. */
  const recordRequeues = () => {
    const requeues: {
      id: string;
      targets: { connections: string[]; slices: { connections: string[] }[] };
    }[] = [];
    const requeue = bus.requeue.bind(bus);
    jest.spyOn(bus, 'requeue').mockImplementation(async (message, headers) => {
      requeues.push({ id: message.id, targets: JSON.parse(headers[TARGETS_HEADER] ?? 'null') });
      return requeue(message, headers);
    });
    return requeues;
  };

  const connectRoom = async (count: number) => {
    const ids = Array.from({ length: count }, (_, n) => `c${n}`);
    for (const [n, id] of ids.entries()) {
      await store.connect('lobby', id, { userId: `u${n}`, profile: {} }, 60, { batched: n % 3 === 2 });
    }
    return ids;
  };

  /**
   * Runs batches as the shard queue would: the first, then whatever was requeued, until none is;
   * `context` is the first invocation's Lambda context.
   */
  const drain = async (messages: ChatMessage[], context?: Context) => {
    let batch: Queued[] = messages.map((message) => ({ message }));
    for (let round = 0; batch.length > 0 && round < 10; round += 1) {
      await fanout(
        rabbitMqEvent(
          'hipochat.fanout.0::/',
          batch.map(({ message, headers }) => ({
            body: Buffer.from(JSON.stringify(message)),
            messageId: message.id,
            redelivered: false,
            headers,
          })),
        ),
        round === 0 ? context : undefined,
      );
      batch = bus.requeued;
      bus.requeued = [];
    }
  };

  /** Every connection got every message exactly once. */
  const expectEachOnce = (connections: string[], messages: ChatMessage[]) => {
    const expected = connections.flatMap((c) => messages.map((m) => `${c} ${m.id}`)).sort();
    expect([...sender.delivered].sort()).toEqual(expected);
  };

  it('requeues a message throttled past the retry budget for that connection only', async () => {
    // Prepare: API Gateway keeps answering 429 to one post of m1 until the sender gives up.
    const connections = await connectRoom(SLICE_SIZE);
    const messages = [chatMessage(1), chatMessage(2)];
    let refused = 0;
    sender.refuse = (c, id) =>
      c === 'c1' && id === messages[0]!.id && refused++ === 0 ? throttled() : undefined;
    const requeues = recordRequeues();

    // Act
    await drain(messages);

    // Assess
    expect(requeues).toEqual([{ id: messages[0]!.id, targets: { connections: ['c1'], slices: [] } }]);
    expectEachOnce(connections, messages);
  });

  it('requeues a message a slice missed (500 after retries) for the connection that missed it', async () => {
    const connections = await connectRoom(3 * SLICE_SIZE);
    const messages = [chatMessage(1), chatMessage(2), chatMessage(3)];
    let refused = 0;
    sender.refuse = (c, id) =>
      c === 'c6' && id === messages[1]!.id && refused++ === 0 ? internalError() : undefined;
    const requeues = recordRequeues();

    await drain(messages);

    expectEachOnce(connections, messages);
    expect(requeues).toEqual([{ id: messages[1]!.id, targets: { connections: ['c6'], slices: [] } }]);
  });

  it('posts nothing again when a slice timed out but completed: its note says it served everyone', async () => {
    // Prepare: the first invocation of the slice holding c0 runs to the end, but its answer is lost.
    const connections = await connectRoom(3 * SLICE_SIZE);
    const messages = [chatMessage(1), chatMessage(2)];
    let timedOut = 0;
    slices.outcome = (request) =>
      request.connections.some((c) => c.connectionId === 'c0') && timedOut++ === 0 ? 'timeout' : 'answer';
    const requeues = recordRequeues();

    // Act
    await drain(messages);

    // Assess: requeued naming the slice (the fan-out could not know), and the retry found nowhere to post.
    expect(requeues.map((r) => r.targets.slices.map((slice) => slice.connections))).toEqual([
      [['c0', 'c1', 'c2', 'c3']],
      [['c0', 'c1', 'c2', 'c3']],
    ]);
    expectEachOnce(connections, messages);
    // Only the note of the slice that did not answer is kept (until it expires).
    const notes = await store.fanoutNotes(
      'lobby',
      slices.requests.map((request) => sliceNoteName(request.id!)),
    );
    expect(notes.map((note) => note !== null)).toEqual([true, false, false]);
  });

  it('posts only what a timed-out slice did not serve before its deadline', async () => {
    // Prepare: the slice holding c0 is past its deadline when it starts, and its answer is lost.
    const connections = await connectRoom(2 * SLICE_SIZE);
    const messages = [chatMessage(1)];
    let late = true;
    const deliverSlice = slices.runtime!.fanout.deliverSlice.bind(slices.runtime!.fanout);
    jest.spyOn(slices.runtime!.fanout, 'deliverSlice').mockImplementation((request) => {
      const mine = request.connections.some((c) => c.connectionId === 'c0');
      return deliverSlice(mine && late ? { ...request, deadline: Date.now() - 1 } : request);
    });
    slices.outcome = (request) => {
      const mine = request.connections.some((c) => c.connectionId === 'c0');
      if (!mine || !late) return 'answer';
      late = false;
      return 'timeout';
    };

    // Act
    await drain(messages);

    // Assess
    expectEachOnce(connections, messages);
  });

  it('delivers a slice Lambda throttled past its retries to that slice only', async () => {
    const connections = await connectRoom(3 * SLICE_SIZE);
    const messages = [chatMessage(1), chatMessage(2)];
    let throttles = 0;
    slices.outcome = (request) =>
      request.connections.some((c) => c.connectionId === 'c5') && throttles++ === 0 ? 'throttled' : 'answer';
    const requeues = recordRequeues();

    await drain(messages);

    expectEachOnce(connections, messages);
    expect(requeues.map((r) => r.targets.slices.map((slice) => slice.connections))).toEqual([
      [['c4', 'c5', 'c6', 'c7']],
      [['c4', 'c5', 'c6', 'c7']],
    ]);
  });

  it('keeps a long list of targets in a Redis note the headers name', async () => {
    // Prepare: a room too big for a header's worth of ids, every first post of m1 failing.
    const count = 200;
    const ids = Array.from({ length: count }, (_, n) => `connection-${String(n).padStart(4, '0')}`);
    for (const id of ids) await store.connect('lobby', id, { userId: id, profile: {} }, 60);
    const message = chatMessage(1);
    const failed = new Set<string>();
    sender.refuse = (c) => {
      if (failed.has(c)) return undefined;
      failed.add(c);
      return internalError();
    };
    const config = loadConfig({ HIPOCHAT_FANOUT_SLICE_SIZE: '0' });
    setRuntime(createRuntime(config, { store, bus, sender }));
    const headers: Record<string, string>[] = [];
    const requeue = bus.requeue.bind(bus);
    jest.spyOn(bus, 'requeue').mockImplementation(async (m, h) => {
      headers.push({ ...h });
      return requeue(m, h);
    });

    // Act
    await drain([message]);

    // Assess
    expect(headers).toHaveLength(1);
    expect(headers[0]![TARGETS_NOTE_HEADER]).toMatch(/^targets:/);
    expectEachOnce(ids, [message]);
  });

  it('takes targets from AMQP headers only: a message whose fields name targets still reaches the whole room', async () => {
    // Prepare: a client put the header's name and a target list among its message's own fields.
    const connections = await connectRoom(SLICE_SIZE);
    const forged = chatMessage(1, {
      [TARGETS_HEADER]: JSON.stringify({ connections: ['c0'], slices: [] }),
    } as Partial<ChatMessage>);

    // Act
    await drain([forged]);

    // Assess
    expectEachOnce(connections, [forged]);
  });

  it.each([
    ['posts itself', SLICE_SIZE],
    ['runs slices', 3 * SLICE_SIZE],
  ])(
    "stops short of the function's timeout when it %s, and requeues the rest for where it is missing",
    async (_how, size) => {
      // Prepare: the first invocation is at its timeout already.
      const connections = await connectRoom(size);
      const messages = [chatMessage(1), chatMessage(2)];
      const requeues = recordRequeues();
      const ending = { getRemainingTimeInMillis: () => 0 } as Context;

      // Act
      await drain(messages, ending);

      // Assess: nothing went out in time, nothing was invoked; the next round delivered all once.
      expect(requeues.map((r) => r.targets.connections.sort())).toEqual([
        [...connections].sort(),
        [...connections].sort(),
      ]);
      expectEachOnce(connections, messages);
    },
  );

  it.each([
    [60_000, 60_000 - INVOCATION_MARGIN_MS],
    [10_000, 5_000],
    [0, 0],
  ])('gives an invocation with %i ms left until %i ms from now to start posts and slices', (left, until) => {
    expect(invocationDeadline(left, 1_000)).toBe(1_000 + until);
  });
});
