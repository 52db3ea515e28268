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
  id: '1795667293000-0',
  timestamp: 1795667293.0,
};

/**
 * What a receiver does (docs/reliability.md): parse `t=<unix seconds>,v1=<hex>`, refuse a time
 * more than 300 s away, and compare HMAC-SHA256 of `<t>.<raw body>` in constant time.
 */
function verifies(
  signature: string | string[] | undefined,
  body: string,
  secret: string,
  now = Date.now() / 1000,
): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(typeof signature === 'string' ? signature : '');
  if (!match || Math.abs(now - Number(match[1])) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${body}`, 'utf8').digest();
  const given = Buffer.from(match[2]!, 'hex');
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

  it('signs as t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">, t being the time of sending', async () => {
    // Prepare
    const notifier = new PushNotifier({ url: receiver.url, secret: SECRET });
    const before = Math.floor(Date.now() / 1000);

    // Act
    await notifier.notify(payload);

    // Assess
    const [request] = receiver.received;
    const header = String(request?.headers['x-hipochat-signature']);
    const t = Number(/^t=(\d+),/.exec(header)?.[1]);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    const mac = createHmac('sha256', SECRET).update(`${t}.${request!.body}`).digest('hex');
    expect(header).toBe(`t=${t},v1=${mac}`);
  });

  it('gives a signature a receiver refuses as stale 301 s later (replay)', async () => {
    // Prepare
    const notifier = new PushNotifier({ url: receiver.url, secret: SECRET });

    // Act
    await notifier.notify(payload);

    // Assess
    const [request] = receiver.received;
    const signature = request?.headers['x-hipochat-signature'];
    expect(verifies(signature, request!.body, SECRET)).toBe(true);
    expect(verifies(signature, request!.body, SECRET, Date.now() / 1000 + 301)).toBe(false);
  });

  it('gives a signature that does not verify another body with the same time', async () => {
    // Prepare
    const notifier = new PushNotifier({ url: receiver.url, secret: SECRET });

    // Act
    await notifier.notify(payload);

    // Assess
    const [request] = receiver.received;
    const forged = request!.body.replace('offline_olga', 'mallory');
    expect(verifies(request?.headers['x-hipochat-signature'], forged, SECRET)).toBe(false);
  });

  it('carries the message id and timestamp, so a receiver can drop a repeated push', async () => {
    // Prepare
    const notifier = new PushNotifier({ url: receiver.url, secret: SECRET });

    // Act
    await notifier.notify(payload);

    // Assess
    expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({
      id: '1795667293000-0',
      timestamp: 1795667293.0,
    });
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

  it.each([301, 302, 307, 308])(
    'treats a %i redirect as a refusal and never sends the signed body to its location',
    async (status) => {
      // Prepare
      const elsewhere = await startReceiver('/elsewhere');
      try {
        script(receiver, { status, headers: { location: elsewhere.url } });
        const notifier = new PushNotifier({ url: receiver.url, secret: SECRET });

        // Act
        const accepted = await notifier.notify(payload);

        // Assess
        expect(accepted).toBe(false);
        expect(receiver.received).toHaveLength(1);
        expect(elsewhere.received).toEqual([]);
      } finally {
        await elsewhere.close();
      }
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
