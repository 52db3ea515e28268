import { type RecordedClient, recordedClient } from '../support/chat-client.js';
import { realServices, startGateway } from '../support/gateway.js';
import { freePort } from '../support/net.js';
import { uniqueRoom } from '../support/rooms.js';
import { eventually } from '../support/wait.js';

// The client library across a gateway restart on real Redis and RabbitMQ: what it missed comes
// back, current and once.

jest.setTimeout(90_000);

describe('HipochatClient across a gateway restart', () => {
  it('shows the current version of messages changed while it was away, with or without signals', async () => {
    // Prepare: real Redis and RabbitMQ so history survives the restart. jane and lou's gateway
    // stays down until kim's changes are in (kim writes through a second gateway on the same
    // services), so they always come back to changes they missed, whatever the machine's load.
    const port = await freePort();
    const env = { ...realServices, HIPOCHAT_LISTEN_PORT: String(port) };
    let gateway = await startGateway(env);
    const room = uniqueRoom('restart-changes');
    const away = { initialDelayMs: 200, maxDelayMs: 1000 };
    const jane = recordedClient({ url: gateway.wsUrl, room, token: 'jane', signals: true, reconnect: away });
    const lou = recordedClient({ url: gateway.wsUrl, room, token: 'lou', reconnect: away });
    const kim = recordedClient({ url: gateway.wsUrl, room, token: 'kim', signals: true });
    const janeEdits: unknown[] = [];
    jane.client.on('edit', (e) => janeEdits.push(e.body));
    const louDeletes: string[] = [];
    lou.client.on('delete', (e) => louDeletes.push(e.id));
    let side: Awaited<ReturnType<typeof startGateway>> | undefined;
    let kimElsewhere: RecordedClient | undefined;
    try {
      await Promise.all([jane.client.connect(), lou.client.connect(), kim.client.connect()]);
      const typo = await kim.client.send('teh plan');
      const regret = await kim.client.send('rash words');
      await eventually(() => jane.messages.length === 2 && lou.messages.length === 2, 'both messages');
      kim.client.close();

      // Act
      await gateway.stop();
      await eventually(() => jane.client.state === 'reconnecting', 'jane noticing the outage');
      side = await startGateway({ ...env, HIPOCHAT_LISTEN_PORT: String(await freePort()) });
      kimElsewhere = recordedClient({ url: side.wsUrl, room, token: 'kim', signals: true });
      await kimElsewhere.client.connect();
      await kimElsewhere.client.edit(typo.id, 'the plan');
      await kimElsewhere.client.react(typo.id, '👍');
      await kimElsewhere.client.delete(regret.id);
      kimElsewhere.client.close();
      await side.stop();
      side = undefined;
      gateway = await startGateway(env);
      await eventually(
        () => jane.client.state === 'live' && lou.client.state === 'live',
        'both back',
        30_000,
      );

      // Assess: jane (signals) and lou (none) both end with the current versions, none twice.
      for (const recorded of [jane, lou]) {
        await eventually(
          () => recorded.client.getMessage(regret.id)?.deleted === true,
          'the delete to be applied',
          30_000,
        );
        expect(recorded.client.getMessage(typo.id)).toMatchObject({
          body: 'the plan',
          edited: { by: 'kim' },
          reactions: { '👍': { count: 1, users: ['kim'] } },
        });
        expect(recorded.client.getMessage(regret.id)?.body).toBeUndefined();
        expect(recorded.messages).toHaveLength(2);
      }
      expect(janeEdits).toEqual(['the plan']);
      expect(louDeletes).toEqual([regret.id]);
    } finally {
      jane.client.close();
      lou.client.close();
      kim.client.close();
      kimElsewhere?.client.close();
      await side?.stop();
      await gateway.stop();
    }
  });

  it('reconnects, catches up on what it missed and shows nothing twice', async () => {
    // Prepare: real Redis and RabbitMQ so history survives the restart; jane backs off longer
    // than kim so kim usually writes while jane is still away (either way nothing may repeat).
    const port = await freePort();
    const env = { ...realServices, HIPOCHAT_LISTEN_PORT: String(port) };
    let gateway = await startGateway(env);
    const room = uniqueRoom('restart');
    const jane = recordedClient({
      url: gateway.wsUrl,
      room,
      token: 'jane',
      reconnect: { initialDelayMs: 3000, maxDelayMs: 6000 },
    });
    const kim = recordedClient({
      url: gateway.wsUrl,
      room,
      token: 'kim',
      reconnect: { initialDelayMs: 100, maxDelayMs: 500 },
    });
    try {
      await Promise.all([jane.client.connect(), kim.client.connect()]);
      await kim.client.send('before');
      await eventually(() => jane.messages.length === 1, 'the first message');

      // Act
      await gateway.stop();
      await eventually(() => jane.client.state === 'reconnecting', 'jane noticing the outage');
      gateway = await startGateway(env);
      await eventually(() => kim.client.state === 'live', 'kim reconnecting', 30_000);
      await kim.client.send('during the outage');
      await eventually(() => jane.client.state === 'live', 'jane reconnecting', 30_000);
      await kim.client.send('after');

      // Assess
      await eventually(() => jane.messages.length >= 3, 'jane seeing all three', 30_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(jane.bodies()).toEqual(['before', 'during the outage', 'after']);
      expect(new Set(jane.messages.map((m) => m.message.id)).size).toBe(3);
      expect(jane.states.map((s) => s.state)).toEqual(expect.arrayContaining(['reconnecting', 'live']));
      expect(jane.states.at(-1)?.state).toBe('live');
    } finally {
      jane.client.close();
      kim.client.close();
      await gateway.stop();
    }
  });
});
