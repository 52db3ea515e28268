import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ModerationRequest,
  ModerationRequestError,
  moderationDecision,
  moderationHandler,
  parseModerationRequest,
} from '@hipochat/server';
import { signPush } from '../../lambdas/core/push.js';

const secret = 'hook-secret';
const request: ModerationRequest = {
  action: 'reply',
  room: 'lobby',
  type: 'message',
  body: 'free money at example.com',
  author: { username: 'mallory' },
  senderId: 'mallory',
  parentId: '1700000000000-0',
  mentions: ['ann'],
  requestId: 'req-1',
};
const raw = JSON.stringify(request);

describe('parseModerationRequest', () => {
  it('reads a request the server signed, from text or bytes', () => {
    expect(parseModerationRequest(raw, signPush(raw, secret), secret)).toEqual(request);
    expect(parseModerationRequest(Buffer.from(raw), [signPush(raw, secret)], secret)).toEqual(request);
  });

  it.each([
    ['another secret', signPush(raw, 'other')],
    ['a changed body', signPush(`${raw} `, secret)],
    ['a stale signature', signPush(raw, secret, Math.floor(Date.now() / 1000) - 301)],
    ['no signature', undefined],
  ])('refuses %s with a 401', (_what, signature) => {
    expect(() => parseModerationRequest(raw, signature, secret)).toThrow(
      expect.objectContaining({ statusCode: 401, name: 'ModerationRequestError' }),
    );
  });

  it.each([
    ['a body that is not JSON', 'nope', /the body is not JSON/],
    ['an unknown action', JSON.stringify({ ...request, action: 'publish' }), /bad or missing "action"/],
    ['no request id', JSON.stringify({ ...request, requestId: undefined }), /"requestId"/],
    ['mentions that are not strings', JSON.stringify({ ...request, mentions: [1] }), /"mentions"/],
    ['an array', '[]', /"action"/],
  ])('refuses %s with a 400 naming the field', (_what, body, message) => {
    let caught: unknown;
    try {
      parseModerationRequest(body, signPush(body, secret), secret);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ModerationRequestError);
    expect(caught).toMatchObject({ statusCode: 400, message: expect.stringMatching(message) });
  });

  it('reads a request without an author as author null', () => {
    const body = JSON.stringify({ ...request, author: undefined, action: 'item' });
    expect(parseModerationRequest(body, signPush(body, secret), secret).author).toBeNull();
  });
});

describe('moderationDecision', () => {
  it('builds the three answers the server reads', () => {
    expect(moderationDecision.allow()).toEqual({ action: 'allow' });
    expect(moderationDecision.reject('spam')).toEqual({ action: 'reject', reason: 'spam' });
    expect(moderationDecision.reject()).toEqual({ action: 'reject' });
    expect(moderationDecision.replace('[removed]')).toEqual({ action: 'replace', body: '[removed]' });
  });
});

describe('moderationHandler on node:http', () => {
  let server: Server;
  let url: string;
  const seen: ModerationRequest[] = [];
  const failures: unknown[] = [];

  beforeAll(async () => {
    const handler = moderationHandler(
      secret,
      async (moderation) => {
        seen.push(moderation);
        if (moderation.body === 'boom') throw new Error('classifier down');
        if (String(moderation.body).includes('free money')) return moderationDecision.reject('spam');
        if (moderation.body === 'darn') return moderationDecision.replace('d**n');
        return moderationDecision.allow();
      },
      { onError: (error) => failures.push(error) },
    );
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/moderate`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function post(body: string, signature?: string): Promise<{ status: number; json: unknown }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (signature) headers['x-hipochat-signature'] = signature;
    const response = await fetch(url, { method: 'POST', headers, body });
    return { status: response.status, json: await response.json() };
  }

  it.each([
    ['rejects', request, { action: 'reject', reason: 'spam' }],
    ['replaces', { ...request, body: 'darn' }, { action: 'replace', body: 'd**n' }],
    ['allows', { ...request, body: 'hello' }, { action: 'allow' }],
  ])('%s as the decider says, with the typed request', async (_what, moderation, decision) => {
    const body = JSON.stringify(moderation);
    await expect(post(body, signPush(body, secret))).resolves.toEqual({ status: 200, json: decision });
    expect(seen.at(-1)).toEqual(moderation);
  });

  it('answers 401 to an unsigned request without asking the decider', async () => {
    const before = seen.length;
    await expect(post(raw)).resolves.toEqual({
      status: 401,
      json: { error: 'missing, wrong or stale X-Hipochat-Signature' },
    });
    expect(seen).toHaveLength(before);
  });

  it('answers 500 when the decider throws, and reports the error', async () => {
    const body = JSON.stringify({ ...request, body: 'boom' });
    await expect(post(body, signPush(body, secret))).resolves.toEqual({
      status: 500,
      json: { error: 'the moderation hook failed' },
    });
    expect(failures).toEqual([new Error('classifier down')]);
  });
});

describe('moderationHandler behind Express-style middleware', () => {
  function response() {
    const sent: { status?: number; body?: unknown } = {};
    return {
      sent,
      writeHead: (status: number) => {
        sent.status = status;
      },
      end: (text: string) => {
        sent.body = JSON.parse(text);
      },
    };
  }

  it('uses a raw body an earlier middleware read (express.raw or express.text)', async () => {
    const res = response();
    const req = {
      headers: { 'x-hipochat-signature': signPush(raw, secret) },
      body: Buffer.from(raw),
      async *[Symbol.asyncIterator]() {},
    };
    await moderationHandler(secret, () => moderationDecision.allow())(req, res);
    expect(res.sent).toEqual({ status: 200, body: { action: 'allow' } });
  });

  it('refuses a body express.json() already parsed, saying how to mount it', async () => {
    const res = response();
    const req = {
      headers: { 'x-hipochat-signature': signPush(raw, secret) },
      body: request,
      async *[Symbol.asyncIterator]() {},
    };
    await moderationHandler(secret, () => moderationDecision.allow())(req, res);
    expect(res.sent).toEqual({
      status: 400,
      body: { error: expect.stringContaining('mount the handler before express.json()') },
    });
  });
});
