// biome-ignore-all lint/performance/useDomNodeTextContent: Locator.innerText (what the user sees), not the DOM property
import { withScreenshots } from '../support/browser.js';
import { demoBrowser, demoGateway, live, panel, say, WAIT } from '../support/demo-page.js';
import { uniqueRoom } from '../support/rooms.js';

/**
 * The demo page in a browser: several rooms at once and the people in them (unread badges on the
 * tabs, one websocket for all rooms, who is online, who is typing).
 */

jest.setTimeout(180_000);

const { browser, pages, openAs } = demoBrowser();

describe('the demo page', () => {
  const gateway = demoGateway();

  it('shows unread badges for the other joined rooms and clears them on opening', async () => {
    await withScreenshots(
      'badges',
      () => pages,
      async () => {
        // Prepare: gus has two rooms open, the first on screen.
        const [front, back] = [uniqueRoom('front'), uniqueRoom('back')];
        const gus = await openAs(gateway.httpUrl, 'gus', [front, back]);
        const hal = await openAs(gateway.httpUrl, 'hal', [back]);

        // Act
        await say(hal, back, 'psst, over here');
        await say(hal, back, 'and again');

        // Assess
        const tab = gus.getByRole('tab', { name: new RegExp(back) });
        await tab.locator('.badge', { hasText: '2' }).waitFor(WAIT);
        await tab.click();
        await panel(gus, back)
          .getByText('and again')
          .waitFor({ state: 'visible', ...WAIT });
        await tab.locator('.badge').waitFor({ state: 'hidden', ...WAIT });
        expect(
          await gus
            .getByRole('tab', { name: new RegExp(front) })
            .locator('.badge')
            .isHidden(),
        ).toBe(true);
      },
    );
  });

  it('opens one websocket for several tabs and badges a tab from live unread frames', async () => {
    await withScreenshots(
      'one socket',
      () => pages,
      async () => {
        // Prepare: ivy opens three rooms; the page counts its websockets and the unread frames.
        const rooms = [uniqueRoom('one'), uniqueRoom('two'), uniqueRoom('three')];
        const context = await browser().newContext({ viewport: { width: 1100, height: 750 } });
        const ivy = await context.newPage();
        pages.push(ivy);
        const sockets: string[] = [];
        const unreadFrames: string[] = [];
        ivy.on('websocket', (socket) => {
          sockets.push(socket.url());
          socket.on('framereceived', ({ payload }) => {
            if (String(payload).includes('"type":"unread"')) unreadFrames.push(String(payload));
          });
        });
        const query = new URLSearchParams([
          ...rooms.map((room): [string, string] => ['room', room]),
          ['token', 'ivy'],
        ]);
        await ivy.goto(`${gateway.httpUrl}/?${query}`);
        for (const room of rooms) await live(ivy, room);
        const jo = await openAs(gateway.httpUrl, 'jo', [rooms[2]!]);

        // Act
        await say(jo, rooms[2]!, 'over in three');

        // Assess
        const tab = ivy.getByRole('tab', { name: new RegExp(rooms[2]!) });
        await tab.locator('.badge', { hasText: '1' }).waitFor(WAIT);
        expect(unreadFrames.map((frame) => JSON.parse(frame))).toContainEqual({
          type: 'unread',
          room: rooms[2],
          count: 1,
        });
        await say(ivy, rooms[0]!, 'from the first tab');
        await panel(ivy, rooms[0]!).getByText('from the first tab').waitFor(WAIT);
        await tab.click();
        await panel(ivy, rooms[2]!)
          .getByText('over in three')
          .waitFor({ state: 'visible', ...WAIT });
        expect(sockets).toHaveLength(1);
      },
    );
  });

  it('lists who is online in a room with a dot each, as people join and leave', async () => {
    await withScreenshots(
      'online list',
      () => pages,
      async () => {
        // Prepare
        const room = uniqueRoom('online');
        const alice = await openAs(gateway.httpUrl, 'alice', [room]);
        const online = panel(alice, room).getByRole('list', { name: `Online in ${room}` });
        // Her first message tells the page who "you" is.
        await say(alice, room, 'anyone here?');
        await online.getByRole('listitem').filter({ hasText: 'alice (you)' }).waitFor(WAIT);

        // Act
        const bob = await openAs(gateway.httpUrl, 'bob', [room]);
        await online.getByRole('listitem').filter({ hasText: 'bob' }).waitFor(WAIT);
        const together = await online.getByRole('listitem').allInnerTexts();
        const dots = await online.locator('li .presence-dot').count();
        const bobSees = panel(bob, room).getByRole('list', { name: `Online in ${room}` });
        await bobSees.getByRole('listitem').filter({ hasText: 'alice' }).waitFor(WAIT);
        await bob.context().close();

        // Assess
        expect(together.map((text) => text.trim())).toEqual(['alice (you)', 'bob']);
        expect(dots).toBe(2);
        await online
          .getByRole('listitem')
          .filter({ hasText: 'bob' })
          .waitFor({ state: 'detached', ...WAIT });
        expect((await online.getByRole('listitem').allInnerTexts()).map((text) => text.trim())).toEqual([
          'alice (you)',
        ]);
      },
    );
  });

  it('says "bob is typing…" under the messages while bob types, and not after he stops', async () => {
    await withScreenshots(
      'typing',
      () => pages,
      async () => {
        // Prepare
        const room = uniqueRoom('typing');
        const alice = await openAs(gateway.httpUrl, 'alice', [room]);
        const bob = await openAs(gateway.httpUrl, 'bob', [room]);
        const aliceSees = panel(alice, room).locator('.typing');
        const bobBox = bob.getByLabel(`Message to ${room}`);

        // Act
        await bobBox.pressSequentially('hello al', { delay: 30 });
        await aliceSees.getByText('bob is typing…').waitFor(WAIT);
        const announced = await aliceSees.getAttribute('aria-live');
        const bobSeesHimself = await panel(bob, room).locator('.typing').innerText();

        // Assess: the notice fades without a new typing frame, and a message ends it too.
        expect(announced).toBe('polite');
        expect(bobSeesHimself).toBe('');
        await aliceSees.getByText('bob is typing…').waitFor({ state: 'detached', ...WAIT });
        await bobBox.pressSequentially('ice', { delay: 30 });
        await aliceSees.getByText('bob is typing…').waitFor(WAIT);
        await bobBox.press('Enter');
        await panel(alice, room).getByText('hello alice').waitFor(WAIT);
        await aliceSees.getByText('bob is typing…').waitFor({ state: 'detached', ...WAIT });
      },
    );
  });
});
