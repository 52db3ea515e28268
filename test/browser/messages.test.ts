// biome-ignore-all lint/performance/useDomNodeTextContent: Locator.innerText (what the user sees), not the DOM property
import { withScreenshots } from '../support/browser.js';
import {
  bodies,
  demoBrowser,
  demoGateway,
  panel,
  post,
  SERVICE_KEY,
  say,
  WAIT,
} from '../support/demo-page.js';
import { uniqueRoom } from '../support/rooms.js';

/**
 * The demo page in a browser: sending and showing messages (live chat between two pages, an
 * injection over HTTP, the size limit, loading earlier messages, runs of one author).
 */

jest.setTimeout(180_000);

const { pages, openAs } = demoBrowser();

/**
 * Bytes of a message frame around its body: `{"type":"message","body":"…","clientId":"<uuid>","room":"<room>"}`
 * (the page's socket follows several rooms, so every frame names its room).
 */
function around(room: string): number {
  return 78 + ',"room":""'.length + room.length;
}

describe('the demo page', () => {
  const gateway = demoGateway();

  it('lets two users in two pages chat live, marking their own messages', async () => {
    await withScreenshots(
      'chat live',
      () => pages,
      async () => {
        // Prepare
        const room = uniqueRoom('live');
        const alice = await openAs(gateway.httpUrl, 'alice', [room]);
        const bob = await openAs(gateway.httpUrl, 'bob', [room]);

        // Act
        await say(alice, room, 'hello bob');
        await panel(bob, room).getByText('hello bob').waitFor(WAIT);
        await say(bob, room, 'hi alice');
        await panel(alice, room).getByText('hi alice').waitFor(WAIT);

        // Assess
        expect(await bodies(alice, room)).toEqual(['hello bob', 'hi alice']);
        expect(await bodies(bob, room)).toEqual(['hello bob', 'hi alice']);
        const first = panel(bob, room).locator('.msg').first();
        expect(await first.locator('.author').innerText()).toBe('alice');
        expect(await first.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d{2}-\d{2}T/);
        await expect(panel(alice, room).locator('.msg.own').allInnerTexts()).resolves.toEqual([
          expect.stringContaining('hello bob'),
        ]);
        await expect(panel(bob, room).locator('.msg.own').allInnerTexts()).resolves.toEqual([
          expect.stringContaining('hi alice'),
        ]);
        expect(await alice.getByLabel(`Message to ${room}`).inputValue()).toBe('');
      },
    );
  });

  it('shows an injection posted over HTTP, distinct from chat messages', async () => {
    await withScreenshots(
      'injection',
      () => pages,
      async () => {
        // Prepare
        const room = uniqueRoom('inject');
        const erin = await openAs(gateway.httpUrl, 'erin', [room]);

        // Act
        await post(
          gateway.httpUrl,
          room,
          'notification',
          { order: 42, status: 'shipped' },
          `Bearer ${SERVICE_KEY}`,
        );

        // Assess
        const injection = panel(erin, room).locator('.msg.injection');
        await injection.waitFor(WAIT);
        expect(await injection.locator('.kind').innerText()).toMatch(/notification/i);
        expect(JSON.parse(await injection.locator('.body').innerText())).toEqual({
          order: 42,
          status: 'shipped',
        });
        expect(await panel(erin, room).locator('.msg:not(.injection)').count()).toBe(0);
      },
    );
  });

  it('keeps a message within the size limit and says why an over-size one is not sent', async () => {
    await withScreenshots(
      'size limit',
      () => pages,
      async () => {
        // Prepare
        const room = uniqueRoom('size');
        const fay = await openAs(gateway.httpUrl, 'fay', [room]);
        const box = fay.getByLabel(`Message to ${room}`);

        // Act: two-byte characters count twice, as the server counts bytes.
        await box.fill('é'.repeat(9000));
        await box.press('Enter');

        // Assess: the whole frame is counted (the body and the bytes around it), nothing is cut.
        const room$ = panel(fay, room);
        const size = 18_000 + around(room);
        expect(await room$.locator('.counter').innerText()).toBe(`${size} / 16384 bytes`);
        expect(await room$.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
        expect(await room$.getByRole('alert').innerText()).toMatch(
          new RegExp(`^message too large: ${size} bytes, the limit is 16384 bytes`),
        );
        expect(await box.inputValue()).toHaveLength(9000);
        await box.fill('small enough');
        await box.press('Enter');
        await room$.getByText('small enough').waitFor(WAIT);
        expect(await bodies(fay, room)).toEqual(['small enough']);
      },
    );
  });

  it('counts the bytes the server measures: a frame of exactly the limit is sent, one byte more is not', async () => {
    await withScreenshots(
      'exact limit',
      () => pages,
      async () => {
        // Prepare: the frame is the body plus `around(room)` bytes.
        const room = uniqueRoom('exact');
        const kim = await openAs(gateway.httpUrl, 'kim', [room]);
        const box = kim.getByLabel(`Message to ${room}`);
        const room$ = panel(kim, room);
        const fits = 'a'.repeat(16_384 - around(room));

        // Act
        await box.fill(`${fits}b`);
        const overCounter = await room$.locator('.counter').innerText();
        const overDisabled = await room$.getByRole('button', { name: 'Send' }).isDisabled();
        await box.fill(fits);
        const fitCounter = await room$.locator('.counter').innerText();
        await box.press('Enter');

        // Assess: the server takes what the page let through.
        expect(overCounter).toBe('16385 / 16384 bytes');
        expect(overDisabled).toBe(true);
        expect(fitCounter).toBe('16384 / 16384 bytes');
        await room$.locator('.msg .body').waitFor(WAIT);
        expect(await bodies(kim, room)).toEqual([fits]);
        expect(await room$.getByRole('alert').innerText()).toBe('');
      },
    );
  });

  it('says why a paste past the limit is not sent instead of cutting it', async () => {
    await withScreenshots(
      'paste over limit',
      () => pages,
      async () => {
        // Prepare
        const room = uniqueRoom('paste');
        const lea = await openAs(gateway.httpUrl, 'lea', [room]);
        const box = lea.getByLabel(`Message to ${room}`);
        const room$ = panel(lea, room);

        // Act: insertText is how a paste reaches the box.
        await box.focus();
        await lea.keyboard.insertText('x'.repeat(20_000));
        await box.press('Enter');

        // Assess
        expect(await box.inputValue()).toHaveLength(20_000);
        const alert = room$.getByRole('alert');
        expect(await alert.isVisible()).toBe(true);
        expect(await alert.innerText()).toBe(
          `message too large: ${20_000 + around(room)} bytes, the limit is 16384 bytes; shorten it to send`,
        );
        expect(await room$.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
        expect(await room$.locator('.msg').count()).toBe(0);
      },
    );
  });

  it('loads earlier messages at the top of a room, page by page, and hides the control at the start', async () => {
    await withScreenshots(
      'load earlier',
      () => pages,
      async () => {
        // Prepare: seven messages; the page opens rooms on pages of three.
        const room = uniqueRoom('earlier');
        for (let n = 1; n <= 7; n += 1) await post(gateway.httpUrl, room, 'message', `m${n}`, 'Token mia');
        const nia = await openAs(gateway.httpUrl, 'nia', [room], '/', { page: '3' });
        const room$ = panel(nia, room);
        const earlier = room$.getByRole('button', { name: 'Load earlier messages' });
        await room$.getByText('m7', { exact: true }).waitFor(WAIT);
        const first = await bodies(nia, room);
        const shownAtFirst = await earlier.isVisible();

        // Act
        await earlier.click();
        await room$.getByText('m2', { exact: true }).waitFor(WAIT);
        const second = await bodies(nia, room);
        await earlier.click();
        await room$.getByText('m1', { exact: true }).waitFor(WAIT);

        // Assess
        expect(first).toEqual(['m5', 'm6', 'm7']);
        expect(shownAtFirst).toBe(true);
        expect(second).toEqual(['m2', 'm3', 'm4', 'm5', 'm6', 'm7']);
        expect(await bodies(nia, room)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
        await earlier.waitFor({ state: 'hidden', ...WAIT });
      },
    );
  });

  describe('the look of a chat', () => {
    it('groups a run of one author under one avatar and author line, under a day separator', async () => {
      await withScreenshots(
        'grouping',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('runs');
          const alice = await openAs(gateway.httpUrl, 'alice', [room]);
          const bob = await openAs(gateway.httpUrl, 'bob', [room]);

          // Act
          await say(alice, room, 'one');
          await panel(alice, room).getByText('one').waitFor(WAIT);
          await say(alice, room, 'two');
          await panel(bob, room).getByText('two').waitFor(WAIT);
          await say(bob, room, 'three');
          await panel(alice, room).getByText('three').waitFor(WAIT);

          // Assess
          const log = panel(alice, room);
          expect(await log.getByRole('separator', { name: 'Today' }).count()).toBe(1);
          expect(await log.locator('.msg:not(.continued) .avatar').allInnerTexts()).toEqual(['A', 'B']);
          expect(await log.locator('.msg.continued .body').allInnerTexts()).toEqual(['two']);
          expect(await log.locator('.msg', { hasText: 'two' }).locator('.meta').isVisible()).toBe(false);
        },
      );
    });
  });
});
