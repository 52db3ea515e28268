// biome-ignore-all lint/performance/useDomNodeTextContent: Locator.innerText (what the user sees), not the DOM property
import type { Page } from 'playwright-core';
import { withScreenshots } from '../support/browser.js';
import { httpAs, settledLeave } from '../support/chat-client.js';
import { demoBrowser, demoGateway, live, panel, say, WAIT } from '../support/demo-page.js';
import { uniqueRoom } from '../support/rooms.js';

/**
 * The demo page in a browser: what has been read (the unread divider after a reload, when the
 * page marks a room read, "Seen by" under your messages).
 */

jest.setTimeout(180_000);

const { pages, openAs } = demoBrowser();

describe('the demo page', () => {
  const gateway = demoGateway();

  it('shows the history after a reload, with a divider between read and unread', async () => {
    await withScreenshots(
      'reload divider',
      () => pages,
      async () => {
        // Prepare: carol reads the first message, leaves, and dan writes two more.
        const room = uniqueRoom('divider');
        const carol = await openAs(gateway.httpUrl, 'carol', [room]);
        const dan = await openAs(gateway.httpUrl, 'dan', [room]);
        await say(dan, room, 'read before leaving');
        await panel(carol, room).getByText('read before leaving').waitFor(WAIT);
        const url = carol.url();
        await carol.goto('about:blank');
        await settledLeave(httpAs(gateway.httpUrl, 'carol'), room);
        await say(dan, room, 'missed one');
        await say(dan, room, 'missed two');
        await panel(dan, room).getByText('missed two').waitFor(WAIT);

        // Act
        await carol.goto(url);
        await live(carol, room);

        // Assess
        const divider = panel(carol, room).getByRole('separator', { name: /unread/ });
        await divider.waitFor(WAIT);
        expect(await divider.innerText()).toBe('2 unread messages');
        const log = await panel(carol, room)
          .locator('.log > li:not(.day)')
          .evaluateAll((items) =>
            items.map((item) =>
              item.classList.contains('divider') ? '---' : (item.querySelector('.body')?.textContent ?? ''),
            ),
          );
        expect(log).toEqual(['read before leaving', '---', 'missed one', 'missed two']);
      },
    );
  });

  it('shows "Seen by bob, carol" under your last message once they have read it', async () => {
    await withScreenshots(
      'seen by',
      () => pages,
      async () => {
        // Prepare
        const room = uniqueRoom('seen');
        const alice = await openAs(gateway.httpUrl, 'alice', [room]);
        const bob = await openAs(gateway.httpUrl, 'bob', [room]);
        const seenUnder = (text: string) =>
          panel(alice, room).locator('.msg', { hasText: text }).locator('.seen');

        // Act: bob reads each message while looking at the room; carol comes later.
        await say(alice, room, 'first');
        await panel(bob, room).getByText('first').waitFor(WAIT);
        await seenUnder('first').getByText('Seen by bob', { exact: true }).waitFor(WAIT);
        const carol = await openAs(gateway.httpUrl, 'carol', [room]);
        await seenUnder('first').getByText('Seen by bob, carol', { exact: true }).waitFor(WAIT);
        await say(alice, room, 'second');
        await panel(bob, room).getByText('second').waitFor(WAIT);
        await panel(carol, room).getByText('second').waitFor(WAIT);
        await seenUnder('second').getByText('Seen by bob, carol', { exact: true }).waitFor(WAIT);

        // Assess: only under alice's last message, never naming alice, and not on the readers' pages.
        expect(await panel(alice, room).locator('.msg .seen').count()).toBe(1);
        expect(await seenUnder('first').count()).toBe(0);
        expect(await panel(bob, room).locator('.msg .seen').count()).toBe(0);
      },
    );
  });

  describe('marking a room read', () => {
    /** Counts the page's read marks (history reads that mark the room read) from now on. */
    const countMarks = (page: Page) => {
      const counted = { marks: 0 };
      page.on('request', (request) => {
        const url = request.url();
        if (url.includes('/talk/old/') && !url.includes('before=')) counted.marks += 1;
      });
      return counted;
    };
    /** Makes the page look hidden and unfocused (another tab or window in front), or visible again. */
    const setLooking = (page: Page, looking: boolean) =>
      page.evaluate(`(() => {
        const on = ${looking};
        Object.defineProperty(document, 'visibilityState', { value: on ? 'visible' : 'hidden', configurable: true });
        document.hasFocus = () => on;
        document.dispatchEvent(new Event('visibilitychange'));
        if (on) window.dispatchEvent(new Event('focus'));
      })()`);
    const unreadOf = (room: string, token: string) => httpAs(gateway.httpUrl, token).notification(room);

    it('does not mark a room read while the page is hidden and unfocused, and marks it once the reader looks', async () => {
      await withScreenshots(
        'read while hidden',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('hidden');
          const alice = await openAs(gateway.httpUrl, 'alice', [room]);
          const bob = await openAs(gateway.httpUrl, 'bob', [room]);
          await setLooking(bob, false);
          const marks = countMarks(bob);

          // Act: the message reaches bob's page while he looks elsewhere.
          await say(alice, room, 'while you were away');
          await panel(bob, room).getByText('while you were away').waitFor(WAIT);
          await bob.waitForTimeout(2500);

          // Assess: not read, until bob looks.
          expect(marks.marks).toBe(0);
          expect(await unreadOf(room, 'bob')).toBe(1);
          await setLooking(bob, true);
          await panel(alice, room)
            .locator('.msg', { hasText: 'while you were away' })
            .getByText('Seen by bob', { exact: true })
            .waitFor(WAIT);
          expect(await unreadOf(room, 'bob')).toBe(0);
        },
      );
    });

    it('never marks a room read for your own messages', async () => {
      await withScreenshots(
        'read own',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('own');
          const alice = await openAs(gateway.httpUrl, 'alice', [room]);
          const bob = await openAs(gateway.httpUrl, 'bob', [room]);
          const marks = countMarks(bob);

          // Act
          await say(bob, room, 'mine');
          await panel(alice, room).getByText('mine').waitFor(WAIT);
          await panel(bob, room).getByText('mine').waitFor(WAIT);
          await bob.waitForTimeout(2500);

          // Assess
          expect(marks.marks).toBe(0);
        },
      );
    });

    it('marks a room read at most once per 2 s however many messages arrive, the last one included', async () => {
      await withScreenshots(
        'read burst',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('burst');
          const alice = await openAs(gateway.httpUrl, 'alice', [room]);
          const bob = await openAs(gateway.httpUrl, 'bob', [room]);
          const marks = countMarks(bob);

          // Act: six messages in quick succession.
          for (let n = 1; n <= 6; n += 1) await say(alice, room, `burst ${n}`);
          await panel(bob, room).getByText('burst 6').waitFor(WAIT);
          await panel(alice, room)
            .locator('.msg', { hasText: 'burst 6' })
            .getByText('Seen by bob', { exact: true })
            .waitFor(WAIT);

          // Assess: one mark at once and at most one at the end of the interval.
          expect(marks.marks).toBeGreaterThanOrEqual(1);
          expect(marks.marks).toBeLessThanOrEqual(2);
          expect(await unreadOf(room, 'bob')).toBe(0);
        },
      );
    });
  });

  describe('defects a user met', () => {
    it('shows "Seen by bob" under your message when bob replies at once', async () => {
      await withScreenshots(
        'seen on reply',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('reply');
          const alice = await openAs(gateway.httpUrl, 'alice', [room]);
          const bob = await openAs(gateway.httpUrl, 'bob', [room]);

          // Act
          await say(alice, room, 'lunch?');
          await panel(bob, room).getByText('lunch?').waitFor(WAIT);
          await say(bob, room, 'yes!');
          await panel(alice, room).getByText('yes!').waitFor(WAIT);

          // Assess
          const seen = panel(alice, room).locator('.msg', { hasText: 'lunch?' }).locator('.seen');
          await seen.getByText('Seen by bob', { exact: true }).waitFor(WAIT);
          expect(await panel(alice, room).locator('.msg .seen').count()).toBe(1);
        },
      );
    });
  });
});
