import { loadConfig } from '../../lambdas/core/config.js';
import type { Identity } from '../../lambdas/core/protocol.js';
import { createRuntime, type Runtime } from '../../lambdas/core/runtime.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { RecordingBus } from '../support/recording-bus.js';
import { RecordingSender } from '../support/recording-sender.js';

const ann: Identity = { userId: 'ann', profile: { id: 'ann' } };

let store: MemoryStore;
let bus: RecordingBus;

function runtimeWith(env: Record<string, string> = {}): Runtime {
  return createRuntime(loadConfig({ HIPOCHAT_SERVICE_KEY: 'service-key', ...env }), {
    store,
    bus,
    sender: new RecordingSender(),
  });
}

beforeEach(() => {
  store = new MemoryStore();
  bus = new RecordingBus();
});

describe('POST /talk/item/{room} across rooms (ChatService.inject)', () => {
  it('limits a user to HIPOCHAT_USER_INJECTION_LIMIT_PER_MINUTE across rooms by default (120)', async () => {
    const rt = runtimeWith();
    expect(rt.config.userInjectionLimitPerMinute).toBe(120);
    // 15 rooms, each well under its own per-room limit of 120.
    for (let n = 0; n < 120; n += 1) await rt.chat.inject(`room-${n % 15}`, ann, 'message', `${n}`);
    const refusal = await rt.chat.inject('room-0', ann, 'message', '"one more"').catch((e: unknown) => e);
    expect(refusal).toMatchObject({
      statusCode: 429,
      message: 'rate limit exceeded: 120 injections per minute across rooms',
    });
    expect((refusal as { retryAfter?: number }).retryAfter).toBeGreaterThanOrEqual(1);
    // Nothing of the refused one was stored or published.
    expect(bus.published).toHaveLength(120);
    expect((await store.latest('room-0', 'ann', 100)).messages).toHaveLength(8);
  });

  it('leaves the backend (service key) to its own limit', async () => {
    const rt = runtimeWith({ HIPOCHAT_USER_INJECTION_LIMIT_PER_MINUTE: '1' });
    await rt.chat.inject('a', ann, 'message', '1');
    await expect(rt.chat.inject('b', ann, 'message', '2')).rejects.toMatchObject({ statusCode: 429 });
    for (let n = 0; n < 5; n += 1) await rt.chat.inject(`room-${n}`, null, 'message', `${n}`);
    expect(bus.published).toHaveLength(6);
  });

  it('is off with 0', async () => {
    const rt = runtimeWith({
      HIPOCHAT_USER_INJECTION_LIMIT_PER_MINUTE: '0',
      HIPOCHAT_RATE_LIMIT_PER_MINUTE: '1000',
    });
    for (let n = 0; n < 200; n += 1) await rt.chat.inject(`room-${n % 20}`, ann, 'message', `${n}`);
    expect(bus.published).toHaveLength(200);
  });
});
