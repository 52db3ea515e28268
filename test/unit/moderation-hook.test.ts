import { createHmac } from 'node:crypto';
import { ModerationRejectedError } from '../../lambdas/core/errors.js';
import { metrics } from '../../lambdas/core/metrics.js';
import {
  HOOK_UNAVAILABLE,
  ModerationHook,
  type ModerationHookOptions,
} from '../../lambdas/core/moderation-hook.js';
import { signPush } from '../../lambdas/core/push.js';
import { signWebhookBody, webhookHeaders } from '../../lambdas/core/webhook-signing.js';
import type { ModerationRequest } from '../../protocol/index.js';
import { type Answer, type HttpReceiver, jsonAnswer, startReceiver } from '../support/http-receiver.js';

const SECRET = 'moderation-secret-for-tests';

const request: ModerationRequest = {
  action: 'message',
  room: 'lobby',
  type: 'message',
  body: { text: 'hello ünïcödé' },
  author: { id: 'alice', username: 'alice' },
  senderId: 'alice',
  requestId: 'req-1',
};

describe('ModerationHook', () => {
  let receiver: HttpReceiver;
  beforeEach(async () => {
    receiver = await startReceiver('/moderate');
  });
  afterEach(async () => {
    await receiver.close();
  });

  const hook = (options: Partial<ModerationHookOptions> = {}) =>
    new ModerationHook({
      url: receiver.url,
      secret: SECRET,
      // A first request of the process sets up the HTTP client; only a hang must time out here.
      timeoutMs: 2000,
      maxBodyBytes: 1000,
      maxBodyDepth: 10,
      ...options,
    });
  const answering = (answer: Answer) => {
    receiver.answer = () => answer;
  };
  const rejection = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ModerationRejectedError);
    return error as ModerationRejectedError;
  };

  it('POSTs the request as JSON, signed like the push webhook', async () => {
    answering(jsonAnswer({ action: 'allow' }));
    await hook().screen(request);
    const [received] = receiver.received;
    expect(received?.method).toBe('POST');
    expect(JSON.parse(received!.body)).toEqual(request);
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(received!.headers['x-hipochat-signature']));
    expect(match).not.toBeNull();
    const expected = createHmac('sha256', SECRET).update(`${match![1]}.${received!.body}`).digest('hex');
    expect(match![2]).toBe(expected);
  });

  it('keeps the body on allow', async () => {
    answering(jsonAnswer({ action: 'allow' }));
    await expect(hook().screen(request)).resolves.toEqual({ body: request.body });
  });

  it('rejects with the hook reason', async () => {
    answering(jsonAnswer({ action: 'reject', reason: 'no shouting' }));
    const error = await rejection(hook().screen(request));
    expect(error.statusCode).toBe(422);
    expect(error.toJSON()).toEqual({ error: 'message rejected by moderation', reason: 'no shouting' });
    expect(error.frameDetails()).toEqual({ reason: 'no shouting' });
  });

  it('rejects with reason "rejected" when the hook names none', async () => {
    answering(jsonAnswer({ action: 'reject' }));
    expect((await rejection(hook().screen(request))).reason).toBe('rejected');
  });

  it('stores the replacement body on replace', async () => {
    answering(jsonAnswer({ action: 'replace', body: { text: 'hello ***' } }));
    await expect(hook().screen(request)).resolves.toEqual({ body: { text: 'hello ***' } });
  });

  it.each<[string, Answer]>([
    ['a timeout', 'hang'],
    ['a 500', 500],
    ['a redirect', { status: 302, headers: { location: 'http://127.0.0.1:1/' } }],
    ['malformed JSON', { status: 200, body: '{"action":' }],
    ['an unknown action', jsonAnswer({ action: 'maybe' })],
    ['a reason that is no string', jsonAnswer({ action: 'reject', reason: 42 })],
    ['a replacement without a body', jsonAnswer({ action: 'replace' })],
    ['a replacement over the size limit', jsonAnswer({ action: 'replace', body: 'x'.repeat(1200) })],
  ])('rejects on %s when HIPOCHAT_MODERATION_FAILURE is reject', async (_, answer) => {
    answering(answer);
    const timeoutMs = answer === 'hang' ? 300 : 2000;
    expect((await rejection(hook({ failure: 'reject', timeoutMs }).screen(request))).reason).toBe(
      HOOK_UNAVAILABLE,
    );
  });

  it.each<[string, Answer]>([
    ['a timeout', 'hang'],
    ['a 503', 503],
    ['malformed JSON', { status: 200, body: 'not json' }],
    ['a replacement over the size limit', jsonAnswer({ action: 'replace', body: 'x'.repeat(1200) })],
  ])('keeps the body on %s when HIPOCHAT_MODERATION_FAILURE is allow', async (_, answer) => {
    answering(answer);
    const timeoutMs = answer === 'hang' ? 300 : 2000;
    await expect(hook({ failure: 'allow', timeoutMs }).screen(request)).resolves.toEqual({
      body: request.body,
    });
  });

  it('rejects when the hook cannot be reached, by default', async () => {
    await receiver.close();
    expect((await rejection(hook().screen(request))).reason).toBe(HOOK_UNAVAILABLE);
  });

  it.each<[string, Answer, string]>([
    ['allow', jsonAnswer({ action: 'allow' }), 'ModerationAllowed'],
    ['reject', jsonAnswer({ action: 'reject' }), 'ModerationRejected'],
    ['replace', jsonAnswer({ action: 'replace', body: 'x' }), 'ModerationReplaced'],
    ['a failure', 500, 'ModerationHookFailed'],
  ])('counts %s in its metric, with the answer time', async (_, answer, metric) => {
    const count = jest.spyOn(metrics, 'count');
    const observe = jest.spyOn(metrics, 'observe');
    answering(answer);
    await hook({ failure: 'allow' })
      .screen(request)
      .catch(() => undefined);
    expect(count.mock.calls).toEqual([[metric]]);
    expect(observe).toHaveBeenCalledWith('ModerationHookMs', expect.any(Number));
    count.mockRestore();
    observe.mockRestore();
  });

  it('asks nothing and allows everything without a URL', async () => {
    const none = new ModerationHook({ maxBodyBytes: 1000, maxBodyDepth: 10 });
    expect(none.enabled).toBe(false);
    await expect(none.screen(request)).resolves.toEqual({ body: request.body });
    expect(receiver.received).toHaveLength(0);
  });
});

describe('webhook signing', () => {
  it('signs as the push webhook does', () => {
    expect(signWebhookBody('{"a":1}', 'k', 1700000000)).toBe(signPush('{"a":1}', 'k', 1700000000));
    expect(signWebhookBody('{"a":1}', 'k', 1700000000)).toBe(
      `t=1700000000,v1=${createHmac('sha256', 'k').update('1700000000.{"a":1}').digest('hex')}`,
    );
  });

  it('leaves a request unsigned without a secret', () => {
    expect(webhookHeaders('{}', undefined)).toEqual({ 'content-type': 'application/json' });
    expect(webhookHeaders('{}', 'k')['x-hipochat-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });
});
