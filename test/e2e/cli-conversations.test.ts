import { cliClients, cliGateway, hipochat } from '../support/hipochat-cli.js';
import { uniqueRoom } from '../support/rooms.js';
import { eventually } from '../support/wait.js';

jest.setTimeout(120_000);

const KEY = 'cli-conversations-key';

describe('hipochat reply, thread, threads, unread, mute, ban and moderation', () => {
  const gateway = cliGateway(KEY);
  const connected = cliClients(gateway);

  it('replies as a user and as the backend, prints the thread and the threads, and marks a room unread', async () => {
    // Prepare
    const room = uniqueRoom('cli-thread');
    const ann = await connected(room, 'ann');
    const { id: rootId } = await ann.client.send('who is on call?');
    const http = ['--http', gateway.httpUrl, '--room', room];

    // Act
    const asBo = await hipochat([
      'reply',
      '--ws',
      gateway.wsUrl,
      '--room',
      room,
      '--id',
      rootId,
      '--token',
      'bo',
      '--mention',
      'ann',
      'me,',
      'today',
    ]);
    const asBackend = await hipochat(
      ['reply', ...http, '--id', rootId, '--service-key', KEY],
      'and the backend\n',
    );
    const replyId = /^replied (\S+) to /.exec(asBo.stdout)?.[1] ?? '';
    const nested = await hipochat(['reply', ...http, '--id', replyId, '--service-key', KEY, 'nested']);
    const threadsOfCy = await hipochat(['threads', ...http, '--token', 'cy']);
    const thread = await hipochat(['thread', ...http, '--id', rootId, '--token', 'cy']);
    const threadsAfter = await hipochat(['threads', ...http, '--token', 'cy']);
    const history = await hipochat(['history', ...http, '--token', 'cy']);
    const unread = await hipochat(['unread', ...http, '--id', rootId, '--token', 'ann']);

    // Assess
    expect(asBo).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(new RegExp(`^replied \\d+-\\d+ to ${rootId} in ${room}\\n$`)),
    });
    expect(asBackend).toMatchObject({ code: 0, stdout: expect.stringMatching(/^replied \d+-\d+ to /) });
    expect(nested.code).toBe(1);
    expect(nested.stderr).toContain('400: parentId must name a message of this room that is not a reply');
    expect(threadsOfCy.stdout).toBe(`${rootId}  2 replies, 2 unread  ann: who is on call?\n`);
    const lines = thread.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`ann: who is on call\\? \\(2 replies, thread ${rootId}\\)$`));
    expect(lines.slice(1).map((line) => line.replace(/\[[\d:]{8}\] /, ''))).toEqual([
      '  ↳ bo: me, today',
      '  ↳ backend: and the backend',
    ]);
    expect(threadsAfter.stdout).toBe(`${rootId}  2 replies  ann: who is on call?\n`);
    expect(history.stdout).toContain('↳ bo: me, today');
    expect(unread).toMatchObject({
      code: 0,
      stdout: `${room} is unread from ${rootId}: 2 unread, 1 mention\n`,
    });
  });

  it('mutes and bans a user, lists both, refuses the muted reply with the seconds left, and lifts them', async () => {
    // Prepare
    const room = uniqueRoom('cli-moderation');
    const ann = await connected(room, 'ann');
    const { id: rootId } = await ann.client.send('rules: be nice');
    const mallory = await connected(room, 'mallory');
    const as = ['--http', gateway.httpUrl, '--room', room, '--user', 'mallory', '--service-key', KEY];

    // Act
    const muted = await hipochat(['mute', ...as, '--seconds', '600']);
    const refused = await hipochat([
      'reply',
      '--ws',
      gateway.wsUrl,
      '--room',
      room,
      '--id',
      rootId,
      '--token',
      'mallory',
      'no',
    ]);
    const banned = await hipochat(['ban', ...as, '--seconds', '60']);
    const listed = await hipochat([
      'moderation',
      '--http',
      gateway.httpUrl,
      '--room',
      room,
      '--service-key',
      KEY,
    ]);
    const unmuted = await hipochat(['unmute', ...as]);
    const unbanned = await hipochat(['unban', ...as]);
    const empty = await hipochat([
      'moderation',
      '--http',
      gateway.httpUrl,
      '--room',
      room,
      '--service-key',
      KEY,
    ]);
    const wrongKey = await hipochat(['mute', ...as.slice(0, -1), 'wrong', '--seconds', '5']);

    // Assess
    expect(muted).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(
        new RegExp(`^muted mallory in ${room} \\((9 min 59|10 min 0) s left, until \\S+Z\\)\\n$`),
      ),
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^hipochat: you are muted in this room for \d+ more seconds/);
    expect(banned.stdout).toMatch(
      new RegExp(`^banned mallory in ${room} \\(.* left, until \\S+Z\\); closed 1 connection\\n$`),
    );
    await eventually(() => mallory.client.state === 'closed', "mallory's socket to close");
    expect(
      listed.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' (')[0])
        .sort(),
    ).toEqual(['ban mallory', 'mute mallory']);
    expect(unmuted.stdout).toBe(`mallory is no longer muted in ${room}\n`);
    expect(unbanned.stdout).toBe(`mallory is no longer banned in ${room}\n`);
    expect(empty).toMatchObject({ code: 0, stdout: '', stderr: `nobody is muted or banned in ${room}\n` });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/→ 401: .*\(the token or service key was refused\)/);
  });
});
