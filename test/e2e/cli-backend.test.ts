import { startGateway } from '../support/gateway.js';
import { cliClients, cliGateway, hipochat } from '../support/hipochat-cli.js';
import { uniqueRoom } from '../support/rooms.js';
import { eventually } from '../support/wait.js';

jest.setTimeout(120_000);

describe('hipochat CLI', () => {
  const gateway = cliGateway();

  it('manages members with the service key and refuses a wrong one', async () => {
    const room = uniqueRoom('members');
    const base = ['members', 'add', '--http', gateway.httpUrl, '--room', room];
    const added = await hipochat([...base, '--service-key', 'cli-test-key', 'ann', 'bo']);
    const refused = await hipochat([...base, '--service-key', 'wrong', 'ann']);
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toEqual({ room, added: ['ann', 'bo'] });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /401: service key refused: membership management requires the service key/,
    );
  });

  it("says membership is off because of the server's HIPOCHAT_SERVICE_KEY", async () => {
    const bare = await startGateway();
    try {
      const run = await hipochat([
        'members',
        'add',
        '--http',
        bare.httpUrl,
        '--room',
        uniqueRoom('members'),
        '--service-key',
        'some-key',
        'ann',
      ]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/401: membership management is disabled: this server has no service key/);
    } finally {
      await bare.stop();
    }
  });

  describe('live signals and backend calls', () => {
    const connected = cliClients(gateway);

    it('broadcasts the JSON on stdin into several rooms in one call with the service key', async () => {
      // Prepare
      const [first, second] = [uniqueRoom('cli-cast-a'), uniqueRoom('cli-cast-b')];
      const listener = await connected(second, 'cy');
      const base = ['broadcast', '--http', gateway.httpUrl, '--rooms', `${first},${second}`];

      // Act
      const sent = await hipochat(
        [...base, '--type', 'notification', '--service-key', 'cli-test-key'],
        '{"text":"maintenance at 22:00"}',
      );
      const refused = await hipochat([...base, '--type', 'notification', '--service-key', 'wrong'], '{}');
      const history = await hipochat([
        'history',
        '--http',
        gateway.httpUrl,
        '--room',
        first,
        '--token',
        'cy',
      ]);

      // Assess
      expect(sent.code).toBe(0);
      expect(sent.stdout).toMatch(
        new RegExp(
          `^broadcast notification \\d+-\\d+ into ${first}\nbroadcast notification \\d+-\\d+ into ${second}\n$`,
        ),
      );
      await eventually(() => listener.messages.length === 1, 'the broadcast to reach the second room');
      expect(listener.messages[0]!.message).toMatchObject({
        type: 'notification',
        body: { text: 'maintenance at 22:00' },
        author: null,
      });
      expect(history.stdout).toContain('* notification from backend: {"text":"maintenance at 22:00"}');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/401: service key refused: broadcast requires the service key/);
    });

    it('disconnects every connection of a user in every room with the service key', async () => {
      // Prepare
      const [one, two] = [uniqueRoom('cli-kick-a'), uniqueRoom('cli-kick-b')];
      const kicked = [await connected(one, 'mallory'), await connected(two, 'mallory')];
      const bystander = await connected(one, 'nia');

      // Act
      const run = await hipochat([
        'disconnect',
        '--http',
        gateway.httpUrl,
        '--user',
        'mallory',
        '--service-key',
        'cli-test-key',
      ]);

      // Assess
      expect(run.code).toBe(0);
      expect(run.stdout).toBe('disconnected 2 connections of mallory\n');
      await eventually(
        () => kicked.every((recorded) => recorded.client.state === 'closed'),
        "both of mallory's sockets to close",
      );
      expect(bystander.client.state).toBe('live');
    });

    it('deletes a message for moderation with the service key, leaving a tombstone live and in history', async () => {
      // Prepare
      const room = uniqueRoom('cli-delete');
      const author = await connected(room, 'troll');
      const watcher = await connected(room, 'mod', true);
      const deleted: string[] = [];
      watcher.client.on('delete', (event) => deleted.push(event.id));
      const { id } = await author.client.send('something rude');
      await eventually(() => watcher.messages.length === 1, 'the message to reach the watcher');
      const base = ['delete', '--http', gateway.httpUrl, '--room', room, '--id', id];

      // Act
      const refused = await hipochat([...base, '--service-key', 'wrong']);
      const run = await hipochat([...base, '--service-key', 'cli-test-key']);
      const unknown = await hipochat([...base.slice(0, -1), '1-0', '--service-key', 'cli-test-key']);
      const history = await hipochat([
        'history',
        '--http',
        gateway.httpUrl,
        '--room',
        room,
        '--token',
        'mod',
      ]);

      // Assess
      expect(refused.code).toBe(1);
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`deleted ${id} in ${room}\n`);
      await eventually(() => deleted.includes(id), 'the watcher to see the delete');
      expect(watcher.client.getMessage(id)).toMatchObject({ id, deleted: true });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/404/);
      expect(history.stdout).not.toContain('something rude');
    });
  });
});
