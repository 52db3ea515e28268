import { MemoryBus } from '../../lambdas/core/bus/memory-bus.js';
import { FanoutService } from '../../lambdas/core/fanout.js';
import {
  parseSliceRequest,
  requestRuns,
  type SliceInvoker,
  type SliceRequest,
  type SliceResult,
  sliceConnections,
} from '../../lambdas/core/fanout-slices.js';
import type { PushNotifier, PushPayload } from '../../lambdas/core/push.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import type { ChatMessage } from '../../protocol/index.js';
import { chatMessage } from '../support/messages.js';
import { RecordingSender } from '../support/recording-sender.js';

const SLICE_SIZE = 4;

/** A push webhook that records what it was asked to send. */
function recordingPush(): PushNotifier & { sent: PushPayload[] } {
  const sent: PushPayload[] = [];
  return {
    sent,
    enabled: true,
    notify: async (payload: PushPayload) => {
      sent.push(payload);
      return true;
    },
  } as unknown as PushNotifier & { sent: PushPayload[] };
}

/**
 * The delivery function in-process: each request runs `deliverSlice` of a second service (its own
 * execution) over the same store and sender, and is recorded; `fail` makes chosen slices fail.
 */
class InProcessSlices implements SliceInvoker {
  requests: SliceRequest[] = [];
  fail: (request: SliceRequest) => boolean = () => false;

  constructor(private readonly delivery: FanoutService) {}

  async deliver(request: SliceRequest): Promise<SliceResult> {
    this.requests.push(structuredClone(request));
    if (this.fail(request)) throw new Error('Invoke answered 429 TooManyRequestsException');
    // What crosses the Invoke API is JSON, both ways.
    return JSON.parse(JSON.stringify(await this.delivery.deliverSlice(JSON.parse(JSON.stringify(request)))));
  }
}

describe('sliceConnections', () => {
  it.each([
    [0, 4, []],
    [1, 4, [1]],
    [4, 4, [4]],
    [5, 4, [3, 2]],
    [8, 4, [4, 4]],
    [9, 4, [3, 3, 3]],
    [2000, 500, [500, 500, 500, 500]],
    [2001, 500, [401, 400, 400, 400, 400]],
    [3, 0, [1, 1, 1]],
  ])('splits %i connections at most %i a slice into slices of %j', (count, size, sizes) => {
    // Prepare
    const connections = Array.from({ length: count }, (_, n) => `c${n}`);

    // Act
    const slices = sliceConnections(connections, size);

    // Assess: the fewest slices, as even as possible, every connection once and in order.
    expect(slices.map((slice) => slice.length)).toEqual(sizes);
    expect(slices.flat()).toEqual(connections);
  });
});

describe('requestRuns', () => {
  it('keeps every request under the size limit, the messages in order', () => {
    const messages = Array.from({ length: 30 }, (_, n) => chatMessage(n, { body: 'x'.repeat(1000) }));
    const runs = requestRuns(messages, [{ connectionId: 'c1' }], 5000);
    expect(runs.length).toBeGreaterThan(1);
    for (const run of runs) expect(Buffer.byteLength(JSON.stringify(run))).toBeLessThan(5000);
    expect(runs.flat()).toEqual(messages);
  });
});

describe('parseSliceRequest', () => {
  it.each([
    ['no event', null],
    ['no room', { messages: [], connections: [] }],
    ['a bad room name', { room: 'a/b', messages: [], connections: [] }],
    [
      'a message of another room',
      { room: 'lobby', messages: [chatMessage(1, { room: 'x' })], connections: [] },
    ],
    ['a connection without id', { room: 'lobby', messages: [], connections: [{}] }],
  ])('refuses an event with %s', (_what, event) => {
    expect(() => parseSliceRequest(event)).toThrow(/delivery event/);
  });
});

describe('fan-out in slices', () => {
  let store: MemoryStore;
  let sender: RecordingSender;
  let push: ReturnType<typeof recordingPush>;
  let bus: MemoryBus & { republished: ChatMessage[] };
  let slices: InProcessSlices;
  let fanout: FanoutService;
  const options = { concurrency: 3, notifiableTypes: ['message'], deliveryLimit: 3 };

  const connectRoom = async (count: number, batched: (n: number) => boolean = () => false) => {
    for (let n = 0; n < count; n += 1) {
      await store.connect('lobby', `c${n}`, { userId: `u${n}`, profile: {} }, 60, { batched: batched(n) });
    }
  };

  beforeEach(async () => {
    store = new MemoryStore();
    sender = new RecordingSender();
    push = recordingPush();
    const republished: ChatMessage[] = [];
    bus = Object.assign(new MemoryBus(1, 3), { republished });
    jest.spyOn(bus, 'requeue').mockImplementation(async (message: ChatMessage) => {
      republished.push(message);
    });
    await store.addMembers('lobby', ['u0', 'offline-1', 'offline-2']);
    // The delivery function never pushes nor requeues: it gets no push and no bus.
    slices = new InProcessSlices(new FanoutService(store, sender, recordingPush(), options));
    fanout = new FanoutService(
      store,
      sender,
      push,
      { ...options, slicing: { size: SLICE_SIZE, invoker: slices } },
      bus,
    );
  });

  it(`delivers a room of ${SLICE_SIZE} connections itself, without slices`, async () => {
    await connectRoom(SLICE_SIZE);
    await fanout.process([chatMessage(1)]);
    expect(slices.requests).toEqual([]);
    expect(sender.posts).toHaveLength(SLICE_SIZE);
  });

  it('gives each connection of a bigger room every message once, in order, from exactly one slice', async () => {
    // Prepare
    await connectRoom(11);
    const messages = [chatMessage(1), chatMessage(2), chatMessage(3)];

    // Act
    const report = await fanout.process(messages);

    // Assess
    expect(slices.requests.map((r) => r.connections.length)).toEqual([4, 4, 3]);
    const ids = slices.requests.flatMap((r) => r.connections.map((c) => c.connectionId));
    expect(ids.sort()).toEqual(Array.from({ length: 11 }, (_, n) => `c${n}`).sort());
    for (let n = 0; n < 11; n += 1) expect(sender.framesOf(`c${n}`)).toEqual(messages);
    expect(report).toMatchObject({ messages: 3, sent: 33, gone: 0, failed: 0 });
    expect(bus.republished).toEqual([]);
  });

  it('keeps batch frames working inside a slice', async () => {
    await connectRoom(6, (n) => n === 5);
    const messages = [chatMessage(1), chatMessage(2)];
    await fanout.process(messages);
    expect(sender.framesOf('c5')).toEqual([{ type: 'batch', room: 'lobby', messages }]);
    expect(sender.framesOf('c0')).toEqual(messages);
  });

  it('requeues every message of a slice that failed as a whole, and only those', async () => {
    // Prepare: the slice holding c0 fails (throttled past its retries).
    await connectRoom(8);
    slices.fail = (request) => request.connections.some((c) => c.connectionId === 'c0');
    const messages = [chatMessage(1), chatMessage(2)];

    // Act
    const report = await fanout.process(messages);

    // Assess: the other slice delivered; both messages go back once each.
    for (let n = 4; n < 8; n += 1) expect(sender.framesOf(`c${n}`)).toEqual(messages);
    expect(sender.framesOf('c0')).toEqual([]);
    expect(report).toMatchObject({ sent: 8, failed: 8 });
    expect(bus.republished).toEqual(messages);
  });

  it('requeues only the message a connection inside a slice missed', async () => {
    await connectRoom(8);
    const post = sender.post.bind(sender);
    jest.spyOn(sender, 'post').mockImplementation(async (connectionId, data) => {
      if (connectionId === 'c6' && Buffer.from(data).toString().includes('"m2"'))
        throw new Error('500 after retries');
      return post(connectionId, data);
    });
    await fanout.process([chatMessage(1), chatMessage(2), chatMessage(3)]);
    expect(bus.republished).toEqual([chatMessage(2)]);
  });

  it('drops exactly the connection that answered 410 inside a slice', async () => {
    await connectRoom(9);
    sender.gone.add('c7');
    const report = await fanout.process([chatMessage(1)]);
    expect(report).toMatchObject({ sent: 8, gone: 1, failed: 0 });
    const left = (await store.connections('lobby')).map((c) => c.connectionId);
    expect(left.sort()).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c8']);
    expect(bus.republished).toEqual([]);
  });

  it('sends the push webhook once per message, from the fan-out, not once per slice', async () => {
    await connectRoom(9);
    const messages = [chatMessage(1, { senderId: 'u0' }), chatMessage(2, { senderId: 'u0' })];
    await fanout.process(messages);
    expect(slices.requests.length).toBe(3);
    expect(push.sent.map((payload) => payload.id)).toEqual(messages.map((m) => m.id));
    // Members with no live connection, the sender excluded.
    expect(push.sent[0]!.receivers.sort()).toEqual(['offline-1', 'offline-2']);
  });
});
