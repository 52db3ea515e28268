import { cliClients, cliGateway, hipochat, spawnHipochat, startHipochat } from '../support/hipochat-cli.js';
import { uniqueRoom } from '../support/rooms.js';
import { eventually } from '../support/wait.js';

jest.setTimeout(120_000);

describe('hipochat CLI', () => {
  const gateway = cliGateway();

  it('follows several rooms on one connection with chat --rooms, each line naming its room', async () => {
    // Prepare
    const [lobby, news] = [uniqueRoom('cli-a'), uniqueRoom('cli-b')];

    // Act
    const chat = await hipochat(
      ['chat', '--ws', gateway.wsUrl, '--rooms', `${lobby},${news}`, '--token', 'zoe'],
      `to the first\n@${news} to the second\n@elsewhere lost\n`,
    );

    // Assess
    expect(chat.code).toBe(1);
    expect(chat.stdout).toMatch(new RegExp(`\\[${lobby}\\] \\[[\\d:]+\\] zoe: to the first\n`));
    expect(chat.stdout).toMatch(new RegExp(`\\[${news}\\] \\[[\\d:]+\\] zoe: to the second\n`));
    expect(chat.stdout).not.toContain('lost');
    expect(chat.stderr).toContain('! not sent: follow a room with --rooms');
  });

  it('sends piped lines with chat and shows them in history, with an injection', async () => {
    // Prepare
    const room = uniqueRoom('cli');
    const http = ['--http', gateway.httpUrl, '--room', room];

    // Act
    const chat = await hipochat(
      ['chat', '--ws', gateway.wsUrl, '--room', room, '--token', 'zoe'],
      'one\ntwo\n',
    );
    const inject = await hipochat(
      ['inject', ...http, '--type', 'notification', '--token', 'zoe'],
      '{"order":7}',
    );
    const history = await hipochat(['history', ...http, '--token', 'yan']);
    const count = await hipochat(['notification', ...http, '--token', 'zoe']);

    // Assess
    expect(chat.code).toBe(0);
    expect(chat.stdout).toMatch(/zoe: one\n.*zoe: two\n/);
    expect(inject.code).toBe(0);
    expect(inject.stdout).toMatch(/injected notification \d+-\d+ into /);
    expect(history.stdout).toMatch(/zoe: one\n.*zoe: two\n.*\* notification from zoe: \{"order":7\}/);
    expect(count.stdout.trim()).toBe('0');
  });

  it.each([
    ['API Gateway', ''],
    ['Hipochat legacy', '/talk/chat/'],
  ])('says the token was refused when %s chat auth fails', async (_shape, suffix) => {
    const run = await hipochat([
      'chat',
      '--ws',
      `${gateway.wsUrl}${suffix}`,
      '--room',
      'lobby',
      '--token',
      // A well-formed token the dev identity does not know (it takes [A-Za-z0-9_-] only).
      'not-a-user!',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/hipochat: connection to .* closed: .*authentication error/);
  });

  describe('live signals and backend calls', () => {
    const connected = cliClients(gateway);

    it('prints who is online in a room, each user once however many tabs', async () => {
      // Prepare
      const room = uniqueRoom('cli-presence');
      await connected(room, 'ann');
      await connected(room, 'bo');
      await connected(room, 'bo');
      const http = ['--http', gateway.httpUrl, '--room', room, '--token', 'ann'];

      // Act
      const lines = await hipochat(['presence', ...http]);
      const json = await hipochat(['presence', ...http, '--json']);

      // Assess
      expect(lines.code).toBe(0);
      expect(lines.stdout.trim().split('\n').sort()).toEqual(['ann', 'bo']);
      const answer = JSON.parse(json.stdout) as { room: string; online: { id: string }[] };
      expect(answer.room).toBe(room);
      expect(answer.online.map((user) => user.id).sort()).toEqual(['ann', 'bo']);
    });

    it('shows edits and deletes in chat --signals, and marks them in history', async () => {
      // Prepare
      const room = uniqueRoom('cli-changes');
      const chat = startHipochat([
        'chat',
        '--ws',
        gateway.wsUrl,
        '--room',
        room,
        '--token',
        'zoe',
        '--signals',
      ]);
      await eventually(() => chat.output().includes('* live'), 'chat to go live');
      const bob = await connected(room, 'bob', true);
      const first = await bob.client.send('helo');
      const second = await bob.client.send('oops');
      await eventually(() => chat.output().includes('bob: oops'), 'the messages');

      // Act
      await bob.client.edit(first.id, 'hello');
      await bob.client.delete(second.id);
      await eventually(() => chat.output().includes('* deleted:'), 'the delete');
      const run = await chat.end();
      const history = await hipochat([
        'history',
        '--http',
        gateway.httpUrl,
        '--room',
        room,
        '--token',
        'zoe',
      ]);

      // Assess
      expect(run.stdout).toMatch(/^\* edited: \[\d\d:\d\d:\d\d\] bob: hello \(edited\)$/m);
      expect(run.stdout).toMatch(/^\* deleted: \[\d\d:\d\d:\d\d\] bob: \(this message was deleted\)$/m);
      expect(history.stdout).toMatch(/bob: hello \(edited\)\n.*bob: \(this message was deleted\)/);
      expect(history.stdout).not.toContain('oops');
    });

    it('shows joins, leaves and typing in chat --signals', async () => {
      // Prepare
      const room = uniqueRoom('cli-signals');
      const chat = startHipochat([
        'chat',
        '--ws',
        gateway.wsUrl,
        '--room',
        room,
        '--token',
        'zed',
        '--signals',
      ]);
      await eventually(() => chat.output().includes('* live'), 'chat to go live');

      // Act
      const bob = await connected(room, 'bob', true);
      await eventually(() => chat.output().includes('* bob joined'), 'the join');
      bob.client.sendTyping();
      await eventually(() => chat.output().includes('* bob is typing…'), 'the typing notice');
      bob.client.close();
      await eventually(() => chat.output().includes('* bob left'), 'the leave');
      const run = await chat.end();

      // Assess
      expect(run.code).toBe(0);
      const signals = run.stdout.split('\n').filter((line) => line.startsWith('* bob'));
      expect(signals).toEqual(['* bob joined', '* bob is typing…', '* bob left']);
    });

    it('follows a room with tail, printing each message, and exits 0 on SIGINT', async () => {
      // Prepare
      const room = uniqueRoom('cli-tail');
      const author = await connected(room, 'ann');
      await author.client.send('before tail');
      const tail = spawnHipochat(['tail', '--ws', gateway.wsUrl, '--room', room, '--token', 'reader']);
      await eventually(() => tail.output().includes('* live'), 'tail to connect');

      // Act
      await author.client.send('while tailing');
      await eventually(() => tail.output().includes('ann: while tailing'), 'the live message');
      tail.child.kill('SIGINT');
      const run = await tail.closed;

      // Assess
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/ann: before tail\n.*ann: while tailing\n/);
    });

    it('edits a message as its author or as the backend, and toggles a reaction', async () => {
      // Prepare
      const room = uniqueRoom('cli-edit');
      const author = await connected(room, 'ann');
      const { id } = await author.client.send('first draft');
      const target = ['--ws', gateway.wsUrl, '--room', room, '--id', id];
      const read = async () => {
        const run = await hipochat([
          'history',
          '--http',
          gateway.httpUrl,
          '--room',
          room,
          '--token',
          'ann',
          '--json',
        ]);
        return (JSON.parse(run.stdout) as { messages: Record<string, unknown>[] }[])[0]!.messages[0]!;
      };

      // Act
      const byAuthor = await hipochat(['edit', ...target, '--token', 'ann'], '"final words"');
      const afterAuthor = await read();
      const byOther = await hipochat(['edit', ...target, '--token', 'bo', '--body', '"hijacked"']);
      const reacted = await hipochat(['react', ...target, '--token', 'bo', '--emoji', '👍']);
      const afterReaction = await read();
      const byBackend = await hipochat([
        'edit',
        ...target,
        '--service-key',
        'cli-test-key',
        '--body',
        '"moderated"',
      ]);
      const unreacted = await hipochat(['react', ...target, '--token', 'bo', '--emoji', '👍']);
      const last = await read();

      // Assess
      expect(byAuthor.code).toBe(0);
      expect(byAuthor.stdout).toBe(`edited ${id} in ${room}\n`);
      expect(afterAuthor.body).toBe('final words');
      expect(byOther.code).toBe(1);
      expect(reacted.code).toBe(0);
      expect(reacted.stdout).toBe(`toggled 👍 on ${id} in ${room}\n`);
      expect(afterReaction.reactions).toEqual({ '👍': { count: 1, users: ['bo'] } });
      expect(byBackend.code).toBe(0);
      expect(unreacted.code).toBe(0);
      expect(last.body).toBe('moderated');
      expect(last.reactions ?? {}).toEqual({});
    });
  });
});
