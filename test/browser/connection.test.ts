// biome-ignore-all lint/performance/useDomNodeTextContent: Locator.innerText (what the user sees), not the DOM property
import { withScreenshots } from '../support/browser.js';
import { bodies, demoBrowser, demoGateway, live, panel, post, say, WAIT } from '../support/demo-page.js';
import { realServices, startGateway } from '../support/gateway.js';
import { freePort } from '../support/net.js';
import { uniqueRoom } from '../support/rooms.js';

/**
 * The demo page in a browser: joining and staying connected (a refused token, the join form by
 * keyboard, reconnecting across a gateway restart).
 */

jest.setTimeout(180_000);

const { browser, pages, openAs } = demoBrowser();

describe('the demo page', () => {
  const gateway = demoGateway();

  it.each(['wrong$token', 'not valid!'])(
    'says the token %j was refused instead of retrying',
    async (token) => {
      await withScreenshots(
        'refused',
        () => pages,
        async () => {
          // Prepare
          const context = await browser().newContext();
          const page = await context.newPage();
          pages.push(page);

          // Act
          await page.goto(`${gateway.httpUrl}/talk/?room=lobby&token=${encodeURIComponent(token)}`);

          // Assess
          const state = panel(page, 'lobby').locator('.state[data-state="closed"]');
          await state.waitFor(WAIT);
          expect(await state.innerText()).toMatch(/Closed: authentication error/);
        },
      );
    },
  );

  it('joins from the form with the keyboard alone', async () => {
    await withScreenshots(
      'keyboard join',
      () => pages,
      async () => {
        // Prepare
        const context = await browser().newContext();
        const page = await context.newPage();
        pages.push(page);
        await page.goto(`${gateway.httpUrl}/`);
        const room = uniqueRoom('keys');

        const form = await page.locator('#join-form').boundingBox();
        // Act
        await page.getByLabel('Room', { exact: true }).fill(room);
        await page.getByLabel(/Token/).fill('ida');
        await page.getByLabel(/Token/).press('Enter');
        await live(page, room);
        await page.keyboard.type('typed without a mouse');
        await page.keyboard.press('Enter');

        // Assess
        await panel(page, room).getByText('typed without a mouse').waitFor(WAIT);
        expect(await page.getByLabel('WebSocket URL').inputValue()).toBe(gateway.wsUrl);
        // Compact: room and token, the server settings folded away.
        expect(form?.height).toBeLessThan(200);
      },
    );
  });
});

describe('the demo page across a gateway restart', () => {
  it('reconnects after the gateway comes back and shows every message exactly once', async () => {
    // Prepare: Redis and RabbitMQ keep the history across the restart.
    const port = await freePort();
    const env = { ...realServices, HIPOCHAT_LISTEN_PORT: String(port) };
    let gateway = await startGateway(env);
    const room = uniqueRoom('restart');
    const asBob = 'Token bob';
    try {
      await withScreenshots(
        'restart',
        () => pages,
        async () => {
          const jo = await openAs(gateway.httpUrl, 'jo', [room]);
          await say(jo, room, 'mine before');
          // Stored before bob's post: the typing notice the page sends first may delay it a little.
          await panel(jo, room).getByText('mine before').waitFor(WAIT);
          await post(gateway.httpUrl, room, 'message', 'before the restart', asBob);
          await panel(jo, room).getByText('before the restart').waitFor(WAIT);

          // Act
          await gateway.stop();
          await panel(jo, room).locator('.state[data-state="reconnecting"]').waitFor(WAIT);
          expect(await panel(jo, room).locator('.state').innerText()).toMatch(/Reconnecting/);
          gateway = await startGateway(env);
          await post(gateway.httpUrl, room, 'message', 'during the outage', asBob);
          await panel(jo, room).locator('.state[data-state="live"]').waitFor({ timeout: 60_000 });
          await post(gateway.httpUrl, room, 'message', 'after the restart', asBob);
          await panel(jo, room).getByText('after the restart').waitFor(WAIT);
          await say(jo, room, 'mine after');
          await panel(jo, room).getByText('mine after').waitFor(WAIT);

          // Assess
          expect(await bodies(jo, room)).toEqual([
            'mine before',
            'before the restart',
            'during the outage',
            'after the restart',
            'mine after',
          ]);
          expect(await panel(jo, room).locator('.msg.own .body').allInnerTexts()).toEqual([
            'mine before',
            'mine after',
          ]);
        },
      );
    } finally {
      await gateway.stop();
    }
  });
  it('says the online list is unknown while reconnecting instead of "1 online"', async () => {
    const port = await freePort();
    let gateway = await startGateway({ HIPOCHAT_LISTEN_PORT: String(port) });
    try {
      await withScreenshots(
        'reconnecting online',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('offline');
          const jo = await openAs(gateway.httpUrl, 'jo', [room]);
          const occupancy = panel(jo, room).locator('.occupancy');
          await occupancy.getByText('1 online', { exact: false }).waitFor(WAIT);

          // Act
          await gateway.stop();
          await panel(jo, room).locator('.state[data-state="reconnecting"]').waitFor(WAIT);

          // Assess
          expect(await occupancy.innerText()).toMatch(/reconnecting/i);
          expect(await occupancy.innerText()).not.toMatch(/online/);
          expect(await panel(jo, room).locator('.online').getAttribute('data-stale')).toBe('true');
          gateway = await startGateway({ HIPOCHAT_LISTEN_PORT: String(port) });
          await occupancy.getByText('1 online', { exact: false }).waitFor({ timeout: 60_000 });
        },
      );
    } finally {
      await gateway.stop();
    }
  });
});
