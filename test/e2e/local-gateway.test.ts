import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import {
  ApiGatewayManagementApiClient,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { SignedPostSender } from '../../lambdas/core/connections.js';
import { startRedis } from '../support/faults.js';
import { type ChatEndpoints, REDIS_URL, realServices, startGateway } from '../support/gateway.js';
import { freePort, listenOnLoopback } from '../support/net.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';
import { eventually, pause } from '../support/wait.js';

jest.setTimeout(120_000);

/** The keys this test's gateway signs (and verifies) `@connections` calls with. */
const KEYS = { accessKeyId: 'local-e2e-key', secretAccessKey: randomBytes(16).toString('hex') };
const keyEnv = {
  AWS_ACCESS_KEY_ID: KEYS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
  AWS_SESSION_TOKEN: '',
};
const ROOM_RULE_ERROR = 'invalid room name: use 1-128 characters of [a-zA-Z0-9-.:,_]';

/** Tries a websocket upgrade; resolves with the status and body of a refused handshake. */
function refusedUpgrade(url: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.terminate();
      reject(new Error(`the upgrade of ${url} was accepted`));
    });
    ws.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as unknown });
        ws.terminate();
      });
    });
    ws.once('error', () => {});
  });
}

describe('the local gateway', () => {
  describe('@connections', () => {
    let chat: ChatEndpoints;
    let redis: Redis;
    const sockets: TestSocket[] = [];

    /** Opens a socket in a fresh room and finds its connection id in Redis. */
    const connected = async (): Promise<{ socket: TestSocket; connectionId: string }> => {
      const room = uniqueRoom('conn');
      const socket = await openSocket(`${chat.wsUrl}/?room=${room}&token=alice`);
      sockets.push(socket);
      const [connectionId] = await eventually(async () => {
        const ids = await redis.hkeys(`hc:{${room}}:conns`);
        return ids.length > 0 ? ids : undefined;
      }, 'the connection record');
      return { socket, connectionId: connectionId! };
    };
    const sdkClient = (credentials = KEYS) =>
      new ApiGatewayManagementApiClient({ endpoint: chat.httpUrl, region: 'eu-west-1', credentials });

    beforeAll(async () => {
      chat = await startGateway({ ...realServices, ...keyEnv });
      redis = new Redis(REDIS_URL);
    });

    afterAll(async () => {
      await Promise.all(sockets.map((socket) => socket.close()));
      redis?.disconnect();
      await chat?.stop();
    });

    it('refuses a forged signature with 403 and delivers nothing', async () => {
      // Prepare
      const { socket, connectionId } = await connected();
      const now = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');

      // Act
      const forged = await fetch(`${chat.httpUrl}/@connections/${encodeURIComponent(connectionId)}`, {
        method: 'POST',
        headers: {
          'x-amz-date': now,
          authorization: `AWS4-HMAC-SHA256 Credential=${KEYS.accessKeyId}/${now.slice(0, 8)}/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
        },
        body: JSON.stringify({ type: 'message', body: 'pay me', author: { id: 'admin' } }),
      });
      const prefixOnly = await fetch(`${chat.httpUrl}/@connections/${encodeURIComponent(connectionId)}`, {
        method: 'POST',
        headers: { authorization: 'AWS4-HMAC-SHA256 whatever' },
        body: '{"author":{"id":"admin"}}',
      });
      await pause(300);

      // Assess
      expect(forged.status).toBe(403);
      expect(forged.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
      expect(prefixOnly.status).toBe(403);
      expect(socket.frames).toEqual([]);
    });

    it('refuses a request signed with other keys', async () => {
      const { socket, connectionId } = await connected();
      const client = sdkClient({ ...KEYS, secretAccessKey: 'guessed' });
      await expect(
        client.send(
          new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from('{"x":1}') }),
        ),
      ).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
      client.destroy();
      await pause(300);
      expect(socket.frames).toEqual([]);
    });

    it('serves the real SDK client: PostToConnection and GetConnection', async () => {
      // Prepare
      const { socket, connectionId } = await connected();
      const client = sdkClient();

      // Act
      await client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from('{"via":"sdk"}') }),
      );
      const described = await client.send(new GetConnectionCommand({ ConnectionId: connectionId }));
      client.destroy();

      // Assess
      expect(await socket.next((frame) => frame.via === 'sdk')).toEqual({ via: 'sdk' });
      expect(described.$metadata.httpStatusCode).toBe(200);
    });

    it('serves SignedPostSender, the fan-out hot path', async () => {
      // Prepare
      const { socket, connectionId } = await connected();
      // The sender takes its keys from the default provider chain, as in the gateway process.
      const previous = { ...process.env };
      Object.assign(process.env, keyEnv, { AWS_REGION: 'us-east-1' });

      // Act
      let outcome: string;
      try {
        outcome = await new SignedPostSender({ endpoint: chat.httpUrl }).post(
          connectionId,
          Buffer.from('{"via":"signed post"}'),
        );
      } finally {
        process.env = previous;
      }

      // Assess
      expect(outcome).toBe('sent');
      expect(await socket.next((frame) => frame.via === 'signed post')).toEqual({ via: 'signed post' });
    });
  });

  describe('the websocket upgrade', () => {
    let chat: ChatEndpoints;

    beforeAll(async () => {
      chat = await startGateway();
    });

    afterAll(async () => {
      await chat?.stop();
    });

    it.each([
      ['a space', 'API Gateway', (base: string) => `${base}/?room=no%20spaces&token=alice`],
      ['129 characters', 'API Gateway', (base: string) => `${base}/?room=${'r'.repeat(129)}&token=alice`],
      ['a space', 'Hipochat', (base: string) => `${base}/talk/chat/no%20spaces/?token=alice`],
      ['broken percent-encoding', 'Hipochat', (base: string) => `${base}/talk/chat/bad%zz/?token=alice`],
    ])(
      'answers a room name with %s on the %s shape with 400 and the text HTTP routes give',
      async (_what, _shape, url) => {
        // Act
        const refused = await refusedUpgrade(url(chat.wsUrl));
        const http = await fetch(`${chat.httpUrl}/talk/old/no%20spaces/`, {
          headers: { authorization: 'Token alice' },
        });

        // Assess
        expect(refused).toEqual({ status: 400, body: { error: ROOM_RULE_ERROR } });
        expect(await http.json()).toEqual({ error: ROOM_RULE_ERROR });
      },
    );
  });

  describe('dev services', () => {
    let profile: Server;
    let profileUrl: string;

    beforeAll(async () => {
      profile = createServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"someone"}');
      });
      profileUrl = `http://127.0.0.1:${await listenOnLoopback(profile)}/profile`;
    });

    afterAll(() => {
      profile?.closeAllConnections();
      profile?.close();
    });

    it('lists pushes at GET /dev/push with the dev identity', async () => {
      const chat = await startGateway();
      try {
        const response = await fetch(`${chat.httpUrl}/dev/push`);
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual([]);
      } finally {
        await chat.stop();
      }
    });

    it('does not serve GET /dev/push beside a real profile endpoint', async () => {
      const chat = await startGateway({ HIPOCHAT_PROFILE_URL: profileUrl });
      try {
        expect((await fetch(`${chat.httpUrl}/dev/push`)).status).toBe(404);
      } finally {
        await chat.stop();
      }
    });

    it.each([
      ['warns', 'the dev identity on every address', {}, true],
      ['does not warn', 'a real profile endpoint on every address', { profile: true }, false],
    ])('%s at start-up about %s', async (_verb, _what, options: { profile?: boolean }, warned) => {
      const chat = await startGateway({
        HIPOCHAT_LISTEN_ADDRESS: '0.0.0.0',
        ...(options.profile ? { HIPOCHAT_PROFILE_URL: profileUrl } : {}),
      });
      try {
        await pause(200);
        expect(chat.output().includes('warning: the dev identity listens on 0.0.0.0')).toBe(warned);
      } finally {
        await chat.stop();
      }
    });

    it('does not warn about the dev identity on the loopback address', async () => {
      const chat = await startGateway();
      try {
        await pause(200);
        expect(chat.output()).not.toContain('warning');
      } finally {
        await chat.stop();
      }
    });
  });

  describe('start-up with a dependency down', () => {
    it('reports Redis and RabbitMQ unreachable with address and cause, keeps serving and says when Redis is back', async () => {
      // Prepare
      const [redisPort, amqpPort] = [await freePort(), await freePort()];
      const password = `pw-${randomBytes(6).toString('hex')}`;

      // Act
      const chat = await startGateway({
        HIPOCHAT_REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
        HIPOCHAT_AMQP_URL: `amqp://guest:${password}@127.0.0.1:${amqpPort}`,
        HIPOCHAT_PROFILE_CACHE_SECONDS: '0',
        // Its own namespace, so stopping does not try to delete queues on the unreachable broker.
        HIPOCHAT_AMQP_NAMESPACE: `hipochat-test-down-${amqpPort}`,
      });
      let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
      try {
        await eventually(
          () =>
            chat.output().includes(`Redis at 127.0.0.1:${redisPort} unreachable: ECONNREFUSED, retrying`) &&
            chat.output().includes(`RabbitMQ at 127.0.0.1:${amqpPort} unreachable: ECONNREFUSED, retrying`),
          'both start-up reports',
          10_000,
        );
        const answer = await fetch(`${chat.httpUrl}/talk/notification/lobby/`, {
          headers: { authorization: 'Token alice' },
        });
        redis = await startRedis({ port: redisPort });
        await eventually(
          () => chat.output().includes(`Redis at 127.0.0.1:${redisPort} reachable`),
          'the report that Redis is back',
        );
        const after = await fetch(`${chat.httpUrl}/talk/notification/lobby/`, {
          headers: { authorization: 'Token alice' },
        });

        // Assess
        expect(answer.status).toBe(503);
        expect(after.status).toBe(200);
        expect(chat.output()).not.toContain(password);
      } finally {
        await chat.stop();
        await redis?.stop();
      }
    });
  });
});
