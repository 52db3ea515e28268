import { createHmac, timingSafeEqual } from 'node:crypto';
import { logger } from '../../lambdas/core/logger.js';
import { PushNotifier, type PushPayload } from '../../lambdas/core/push.js';
import { type Answer, type HttpReceiver, startReceiver } from '../support/http-receiver.js';
import { freePort } from '../support/net.js';
import { settlesWithin } from '../support/wait.js';

const SECRET = 'push-secret-for-tests';

const payload: PushPayload = {
  chat_token: 'lobby',
  receivers: ['offline_olga'],
  body: { text: 'anyone there? ünïcödé ✓' },
  type: 'message',
  author: { id: 'alice', name: 'Alice' },
};

/** What a receiver does: HMAC-SHA256 of the raw body with the shared secret, compared in constant time. */
function verifies(signature: string | string[] | undefined, body: string, secret: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`);
  const given = Buffer.from(typeof signature === 'string' ? signature : '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Answers the requests with `answers` in turn, then 204. */
function script(receiver: HttpReceiver, ...answers: Answer[]): void {
  receiver.answer = () => answers.shift() ?? 204;
}

let receiver: HttpReceiver;
let dropped: jest.SpyInstance;

beforeEach(async () => {
  receiver = await startReceiver('/push');
  // The notifier logs each failure; the tests assert on outcomes, and on the final error line.
  jest.spyOn(logger, 'warn').mockImplementation(() => {});
  dropped = jest.spyOn(logger, 'error').mockImplementation(() => {});
});

afterEach(async () => {
  jest.restoreAllMocks();
  await receiver.close();
});

describe('PushNotifier signing', () => {
  it('signs the raw body with the secret in X-Hipochat-Signature', async () => {
    // Prepare
    const notifier = new PushNotifier({ url: receiver.url, secret: SECRET });

    // Act
    const accepted = await notifier.notify(payload);

    // Assess
    expect(accepted).toBe(true);
    const [request] = receiver.received;
    expect(request?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual(payload);
    expect(verifies(request?.headers['x-hipochat-signature'], request!.body, SECRET)).toBe(true);
  });

  it('gives a signature that another secret does not verify', async () => {
    // Prepare
    const notifier = new PushNotifier({ url: receiver.url, secret: SECRET });

    // Act
    await notifier.notify(payload);

    // Assess
    const [request] = receiver.received;
    expect(verifies(request?.headers['x-hipochat-signature'], request!.body, `${SECRET}-other`)).toBe(false);
  });

  it('sends no signature when no secret is configured', async () => {
    // Prepare
    const notifier = new PushNotifier({ url: receiver.url });

    // Act
    const accepted = await notifier.notify(payload);

    // Assess
    expect(accepted).toBe(true);
    expect(receiver.received[0]?.headers).not.toHaveProperty('x-hipochat-signature');
  });
});

describe('PushNotifier retries', () => {
  it.each([
    { answers: [503], requests: 2 },
    { answers: [500, 502], requests: 3 },
    { answers: [429], requests: 2 },
  ])('delivers after the receiver answered $answers', async ({ answers, requests }) => {
    // Prepare
    script(receiver, ...answers);
    const notifier = new PushNotifier({ url: receiver.url, secret: SECRET });

    // Act
    const accepted = await notifier.notify(payload);

    // Assess
    expect(accepted).toBe(true);
    expect(receiver.received).toHaveLength(requests);
    for (const request of receiver.received) {
      expect(JSON.parse(request.body)).toEqual(payload);
      expect(verifies(request.headers['x-hipochat-signature'], request.body, SECRET)).toBe(true);
    }
  });

  it.each([
    { setting: 'by default', options: {}, requests: 3 },
    { setting: 'with attempts: 1', options: { attempts: 1 }, requests: 1 },
    { setting: 'with attempts: 5', options: { attempts: 5 }, requests: 5 },
  ])(
    'sends $requests request(s) $setting to a receiver that keeps failing, then gives up',
    async ({ options, requests }) => {
      // Prepare
      receiver.answer = () => 503;
      const notifier = new PushNotifier({ url: receiver.url, ...options });

      // Act
      const accepted = await notifier.notify(payload);

      // Assess
      expect(accepted).toBe(false);
      expect(receiver.received).toHaveLength(requests);
      expect(dropped).toHaveBeenCalledWith('push notification dropped after retries', { room: 'lobby' });
    },
  );

  it.each([400, 401, 403, 404, 410, 413])(
    'does not retry a receiver that refused with %i',
    async (status) => {
      // Prepare
      script(receiver, status);
      const notifier = new PushNotifier({ url: receiver.url, secret: SECRET });

      // Act
      const accepted = await notifier.notify(payload);

      // Assess
      expect(accepted).toBe(false);
      expect(receiver.received).toHaveLength(1);
    },
  );

  it('reports failure, without throwing, when nothing listens at the URL', async () => {
    // Prepare
    const notifier = new PushNotifier({ url: `http://127.0.0.1:${await freePort()}/push`, attempts: 2 });

    // Act
    const accepted = await notifier.notify(payload);

    // Assess
    expect(accepted).toBe(false);
    expect(dropped).toHaveBeenCalledTimes(1);
  });
});

describe('PushNotifier timeouts', () => {
  it('gives up on a receiver that never answers and reports failure', async () => {
    // Prepare
    receiver.answer = () => 'hang';
    const notifier = new PushNotifier({ url: receiver.url, attempts: 2, timeoutMs: 200 });

    // Act
    const accepted = await settlesWithin(notifier.notify(payload), 'the notification', 10_000);

    // Assess
    expect(accepted).toBe(false);
    expect(receiver.received).toHaveLength(2);
    expect(dropped).toHaveBeenCalledWith('push notification dropped after retries', { room: 'lobby' });
  });

  it('delivers on the next attempt after one timed out', async () => {
    // Prepare
    script(receiver, 'hang');
    const notifier = new PushNotifier({ url: receiver.url, secret: SECRET, timeoutMs: 200 });

    // Act
    const accepted = await settlesWithin(notifier.notify(payload), 'the notification', 10_000);

    // Assess
    expect(accepted).toBe(true);
    expect(receiver.received).toHaveLength(2);
  });
});

describe('PushNotifier without anything to send', () => {
  it.each([
    { what: 'no webhook URL is configured', options: {}, receivers: ['offline_olga'] },
    { what: 'nobody is offline', options: undefined, receivers: [] },
  ])('sends nothing when $what', async ({ options, receivers }) => {
    // Prepare
    const notifier = new PushNotifier(options ?? { url: receiver.url });

    // Act
    const accepted = await notifier.notify({ ...payload, receivers });

    // Assess
    expect(accepted).toBe(false);
    expect(receiver.received).toEqual([]);
  });
});
