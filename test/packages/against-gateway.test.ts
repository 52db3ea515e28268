import { once } from 'node:events';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { signPush } from '../../lambdas/core/push.js';
import { type ChatEndpoints, startGateway } from '../support/gateway.js';
import { freePort } from '../support/net.js';
import { nodeInApp, packedApp } from '../support/packed.js';
import { uniqueRoom } from '../support/rooms.js';

jest.setTimeout(90_000);

/** Copies an app script next to the installed packages, so it imports them by name. */
function appScript(name: string): string {
  copyFileSync(join(__dirname, 'apps', name), join(packedApp(), name));
  return name;
}

describe('@hipochat/client installed from its tarball, in plain node', () => {
  it('connects to a local gateway, sends, receives, and reconnects after a restart', async () => {
    // Prepare
    const env = { HIPOCHAT_LISTEN_PORT: String(await freePort()) };
    let gateway: ChatEndpoints = await startGateway(env);
    const app = nodeInApp(appScript('chat-app.mjs'), [gateway.wsUrl, uniqueRoom('packed')]);
    let stderr = '';
    app.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const steps = createInterface({ input: app.stdout });
    const results: Record<string, unknown>[] = [];
    try {
      // Act
      for await (const line of steps) {
        const step = JSON.parse(line) as Record<string, unknown>;
        results.push(step);
        if (step.step === 'restart') {
          await gateway.stop();
          gateway = await startGateway(env);
          app.stdin.write('back\n');
        }
        if (step.step === 'done') break;
      }
      const [code] = await once(app, 'exit');

      // Assess
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(results.at(-1)).toEqual({
        step: 'done',
        heard: ['hello', 'again'],
        states: expect.arrayContaining(['connecting', 'live', 'reconnecting']),
      });
    } finally {
      app.kill();
      await gateway.stop();
    }
  });
});

describe('@hipochat/server installed from its tarball, in plain node', () => {
  it('injects, broadcasts, deletes, replies, mutes, disconnects a user and checks push and moderation signatures', async () => {
    // Prepare
    const gateway = await startGateway({ HIPOCHAT_SERVICE_KEY: 'packed-key' });
    const room = uniqueRoom('backend');
    const push = JSON.stringify({ id: '1-0', receivers: ['cy'], body: 'hi' });
    const moderation = JSON.stringify({
      action: 'message',
      room,
      type: 'message',
      body: 'hello',
      author: { id: 'cy' },
      senderId: 'cy',
      requestId: 'r-1',
    });
    try {
      // Act
      const app = nodeInApp(
        appScript('backend-app.mjs'),
        [gateway.wsUrl, gateway.httpUrl, room, 'packed-key'],
        {
          PUSH_BODY: push,
          PUSH_SIGNATURE: signPush(push, 'push-secret'),
          MODERATION_BODY: moderation,
          MODERATION_SIGNATURE: signPush(moderation, 'push-secret'),
        },
      );
      let stdout = '';
      let stderr = '';
      app.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      app.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const [code] = await once(app, 'exit');

      // Assess
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(stdout)).toEqual({
        injected: 'notification',
        broadcastRooms: [room, `${room}-other`],
        deleted: true,
        missing: 'NotFoundError 404',
        injections: [{ n: 1 }, { n: 2 }],
        disconnected: 1,
        clientClosed: expect.stringMatching(/closed by server/),
        pushValid: true,
        pushForged: false,
        reply: { parentId: true, mentions: ['cy'] },
        muted: 'mute',
        restrictions: ['mute dee'],
        unmuted: null,
        moderationRequest: 'message',
        moderationForged: 'ModerationRequestError 401',
        decision: { action: 'reject', reason: 'spam' },
      });
    } finally {
      await gateway.stop();
    }
  });
});
