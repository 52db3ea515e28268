import type { Page } from 'playwright-core';
import { axeViolations, withScreenshots } from '../support/browser.js';
import {
  DESKTOP,
  demoBrowser,
  demoGateway,
  PHONE,
  panel,
  post,
  SERVICE_KEY,
  say,
  WAIT,
} from '../support/demo-page.js';
import { uniqueRoom } from '../support/rooms.js';

/**
 * The demo page in a browser: how it fits a screen (a phone's) and what axe-core finds on desktop
 * and phone.
 */

jest.setTimeout(180_000);

const { pages, openAs } = demoBrowser();

describe('the demo page', () => {
  const gateway = demoGateway();

  describe('defects a user met', () => {
    it('keeps the message box and the newest message in view on a phone', async () => {
      await withScreenshots(
        'phone layout',
        () => pages,
        async () => {
          // Prepare: more messages than a phone screen holds.
          const room = uniqueRoom('phone');
          for (let n = 1; n <= 30; n += 1) {
            await post(gateway.httpUrl, room, 'message', `line ${n}`, 'Token bob');
          }

          // Act
          const alice = await openAs(gateway.httpUrl, 'alice', [room], '/', {}, PHONE);
          await panel(alice, room).getByText('line 30').waitFor(WAIT);

          // Assess: the page fits the screen and the list scrolls itself, at its end.
          const pageHeight = await alice.locator('html').evaluate((html) => html.scrollHeight);
          expect(pageHeight).toBeLessThanOrEqual(PHONE.height);
          const box = alice.getByLabel(`Message to ${room}`);
          await expect(box.boundingBox()).resolves.toMatchObject({ y: expect.any(Number) });
          const inView = async (locator: ReturnType<Page['locator']>) => {
            const rect = await locator.boundingBox();
            return rect !== null && rect.y >= 0 && rect.y + rect.height <= PHONE.height;
          };
          expect(await inView(box)).toBe(true);
          expect(await inView(panel(alice, room).locator('.msg', { hasText: 'line 30' }))).toBe(true);
        },
      );
    });
  });

  describe('accessibility (axe-core, WCAG 2.1 A/AA and best practices)', () => {
    it.each([
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ])('finds no violation before joining a room on %s', async (_name, viewport) => {
      await withScreenshots(
        `axe empty ${_name}`,
        () => pages,
        async () => {
          // Prepare
          const page = await openAs(gateway.httpUrl, 'alice', [], '/', {}, viewport);

          // Act
          const violations = await axeViolations(page);

          // Assess
          expect(violations).toEqual([]);
        },
      );
    });

    it.each([
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ])(
      'finds no violation inside a room with messages, an injection and the unread divider on %s',
      async (_name, viewport) => {
        await withScreenshots(
          `axe room ${_name}`,
          () => pages,
          async () => {
            // Prepare
            const room = uniqueRoom('axe');
            await post(gateway.httpUrl, room, 'message', 'hello from bob', 'Token bob');
            await post(
              gateway.httpUrl,
              room,
              'notification',
              { status: 'deployed' },
              `Bearer ${SERVICE_KEY}`,
            );
            const alice = await openAs(gateway.httpUrl, 'alice', [room], '/', {}, viewport);
            await say(alice, room, 'hi bob');
            await panel(alice, room).locator('.msg.own').waitFor(WAIT);

            // Act
            const violations = await axeViolations(alice);

            // Assess
            expect(violations).toEqual([]);
          },
        );
      },
    );
  });
});
