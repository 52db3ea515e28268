import { batchFrames, FanoutService } from '../../lambdas/core/fanout.js';
import { PushNotifier } from '../../lambdas/core/push.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { BATCH_FRAME_BYTES, type ChatMessage } from '../../protocol/index.js';
import { chatMessage } from '../support/messages.js';
import { RecordingSender } from '../support/recording-sender.js';

describe('fan-out batch frames', () => {
  let store: MemoryStore;
  let sender: RecordingSender;
  let fanout: FanoutService;

  beforeEach(async () => {
    store = new MemoryStore();
    sender = new RecordingSender();
    fanout = new FanoutService(store, sender, new PushNotifier({}), {
      concurrency: 8,
      notifiableTypes: [],
      deliveryLimit: 3,
    });
    await store.connect('lobby', 'plain', { userId: 'ann', profile: {} }, 60);
    await store.connect('lobby', 'batched', { userId: 'bob', profile: {} }, 60, { batched: true });
  });

  it("gives a batched connection the room's messages in one frame and a plain one a frame per message", async () => {
    const messages = [chatMessage(1), chatMessage(2), chatMessage(3)];
    await fanout.deliver(messages);
    expect(sender.framesOf('plain')).toEqual(messages);
    expect(sender.framesOf('batched')).toEqual([{ type: 'batch', room: 'lobby', messages }]);
  });

  it('sends a lone message as itself, even to a batched connection', async () => {
    await fanout.deliver([chatMessage(1)]);
    expect(sender.framesOf('batched')).toEqual([chatMessage(1)]);
  });

  it('drops exactly the batched connection that answered 410', async () => {
    sender.gone.add('batched');
    const report = await fanout.deliver([chatMessage(1), chatMessage(2)]);
    expect(report.gone).toBe(1);
    expect(await store.connections('lobby')).toEqual([{ connectionId: 'plain', userId: 'ann' }]);
  });
});

describe('batchFrames', () => {
  it(`splits messages into frames of at most ${BATCH_FRAME_BYTES} bytes, keeping their order`, () => {
    const messages = Array.from({ length: 40 }, (_, n) => chatMessage(n, { body: 'x'.repeat(3000) }));
    const frames = batchFrames('lobby', messages);
    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames) expect(frame.data.length).toBeLessThanOrEqual(BATCH_FRAME_BYTES);
    const unpacked = frames.flatMap((frame) => {
      const parsed = JSON.parse(frame.data.toString()) as
        | ChatMessage
        | { type: 'batch'; messages: ChatMessage[] };
      return 'messages' in parsed ? parsed.messages : [parsed];
    });
    expect(unpacked).toEqual(messages);
  });
});
