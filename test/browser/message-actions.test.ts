// biome-ignore-all lint/performance/useDomNodeTextContent: Locator.innerText (what the user sees), not the DOM property
import type { Page } from 'playwright-core';
import { withScreenshots } from '../support/browser.js';
import {
  bodies,
  demoBrowser,
  demoGateway,
  item,
  live,
  PHONE,
  panel,
  say,
  WAIT,
} from '../support/demo-page.js';
import { uniqueRoom } from '../support/rooms.js';

/**
 * The demo page in a browser: your own messages and what you do to them (edit, delete,
 * reactions, the action menus on hover, focus and touch), and the occupancy line.
 */

jest.setTimeout(180_000);

const { browser, pages, openAs } = demoBrowser();

describe('the demo page', () => {
  const gateway = demoGateway();

  describe('messages that change', () => {
    it('edits your own message inline (Enter saves, Escape cancels) and the other user sees it change live', async () => {
      await withScreenshots(
        'edit',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('edit');
          const alice = await openAs(gateway.httpUrl, 'alice', [room]);
          const bob = await openAs(gateway.httpUrl, 'bob', [room]);
          await say(alice, room, 'helo bob');
          await say(bob, room, 'hi alice');
          await panel(bob, room).getByText('helo bob').waitFor(WAIT);
          await panel(alice, room).getByText('hi alice').waitFor(WAIT);
          await item(alice, room, 'helo bob').and(alice.locator('.own')).waitFor(WAIT);

          // Act: a cancelled edit, then a saved one, all from the keyboard.
          const edit = item(alice, room, 'helo bob').getByRole('button', { name: 'Edit message' });
          await edit.focus();
          await alice.keyboard.press('Enter');
          const box = panel(alice, room).getByRole('textbox', { name: /Edit message/ });
          await box.fill('never mind');
          await box.press('Escape');
          const afterCancel = await item(alice, room, 'helo bob').count();
          await edit.press('Enter');
          await box.fill('hello bob');
          await box.press('Enter');
          const changed = item(bob, room, 'hello bob');
          await changed.waitFor(WAIT);

          // Assess: bob sees the new body marked "(edited)", and can edit only his own message.
          expect(afterCancel).toBe(1);
          expect(await changed.locator('.edited').innerText()).toBe('(edited)');
          await item(alice, room, 'hello bob').locator('.edited').waitFor(WAIT);
          expect(await bodies(bob, room)).toEqual(['hello bob', 'hi alice']);
          expect(await changed.getByRole('button', { name: 'Edit message' }).isVisible()).toBe(false);
          expect(
            await item(bob, room, 'hi alice').getByRole('button', { name: 'Edit message' }).isVisible(),
          ).toBe(true);
        },
      );
    });

    it('deletes your own message after a confirmation, leaving "This message was deleted" for everyone', async () => {
      await withScreenshots(
        'delete',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('delete');
          const alice = await openAs(gateway.httpUrl, 'alice', [room]);
          const bob = await openAs(gateway.httpUrl, 'bob', [room]);
          await say(alice, room, 'oops, wrong room');
          await say(alice, room, 'this one stays');
          await panel(bob, room).getByText('this one stays').waitFor(WAIT);
          const doomed = item(alice, room, 'oops, wrong room');
          await doomed.and(alice.locator('.own')).waitFor(WAIT);

          // Act: Cancel first, then confirm.
          await doomed.getByRole('button', { name: 'Delete message' }).click();
          await doomed.getByRole('button', { name: 'Cancel' }).click();
          const keptAfterCancel = await doomed.count();
          await doomed.getByRole('button', { name: 'Delete message' }).click();
          await doomed
            .getByRole('group', { name: 'Confirm deletion' })
            .getByRole('button', { name: 'Delete' })
            .click();
          await panel(bob, room).getByText('This message was deleted').waitFor(WAIT);
          await panel(alice, room).getByText('This message was deleted').waitFor(WAIT);

          // Assess: the tombstone keeps its place, also in the history after a reload.
          expect(keptAfterCancel).toBe(1);
          expect(await bodies(bob, room)).toEqual(['This message was deleted', 'this one stays']);
          await bob.reload();
          await live(bob, room);
          await panel(bob, room).getByText('this one stays').waitFor(WAIT);
          expect(await bodies(bob, room)).toEqual(['This message was deleted', 'this one stays']);
          expect(await panel(bob, room).getByText('oops, wrong room').count()).toBe(0);
        },
      );
    });

    it('toggles reactions from the keyboard, counting both users and highlighting your own', async () => {
      await withScreenshots(
        'reactions',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('react');
          const alice = await openAs(gateway.httpUrl, 'alice', [room]);
          const bob = await openAs(gateway.httpUrl, 'bob', [room]);
          await say(alice, room, 'we shipped it');
          await say(bob, room, 'congrats');
          await panel(alice, room).getByText('congrats').waitFor(WAIT);
          const party = (page: Page) =>
            item(page, room, 'we shipped it').locator('.reaction[data-emoji="🎉"]');

          // Act: bob reacts by keyboard, alice joins in, then bob takes his back.
          await panel(bob, room).getByText('we shipped it').waitFor(WAIT);
          await item(bob, room, 'we shipped it').getByRole('button', { name: 'Add a reaction' }).focus();
          await bob.keyboard.press('Enter');
          await item(bob, room, 'we shipped it')
            .getByRole('group', { name: 'Pick a reaction' })
            .getByRole('button', { name: 'React with 🎉' })
            .press('Enter');
          await party(alice).locator('.count', { hasText: '1' }).waitFor(WAIT);
          await party(alice).click();
          await party(bob).locator('.count', { hasText: '2' }).waitFor(WAIT);
          const bobPressed = await party(bob).getAttribute('aria-pressed');
          await party(bob).press('Enter');
          await party(alice).locator('.count', { hasText: '1' }).waitFor(WAIT);

          // Assess
          expect(bobPressed).toBe('true');
          await party(bob).and(bob.locator('[aria-pressed="false"]')).waitFor(WAIT);
          expect(await party(alice).getAttribute('aria-pressed')).toBe('true');
          expect(await party(alice).getAttribute('aria-label')).toBe('Remove your 🎉 reaction (1 reaction)');
          // Only the reactions used show, next to the one add-reaction control.
          expect(await item(alice, room, 'we shipped it').locator('.reaction').count()).toBe(1);
          expect(await item(alice, room, 'we shipped it').locator('.add-reaction').count()).toBe(1);
        },
      );
    });

    it('shows "2 online · N members" in the room header and updates it as people come and go', async () => {
      await withScreenshots(
        'occupancy',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('occupancy');
          const alice = await openAs(gateway.httpUrl, 'alice', [room]);
          const line = panel(alice, room).locator('.room-header .occupancy');
          const saying = (text: RegExp) => line.filter({ hasText: text }).waitFor(WAIT);
          await saying(/^1 online/);

          // Act
          const bob = await openAs(gateway.httpUrl, 'bob', [room]);
          await saying(/^2 online · \d+ members?$/);
          const together = await line.innerText();
          await bob.context().close();

          // Assess
          expect(together).toMatch(/^2 online · \d+ members?$/);
          await saying(/^1 online/);
        },
      );
    });
  });

  describe('the look of a chat', () => {
    it('opens the actions of a message from its menu button on a touch screen', async () => {
      await withScreenshots(
        'touch menu',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('touch');
          const context = await browser().newContext({ viewport: PHONE, hasTouch: true, isMobile: true });
          const page = await context.newPage();
          pages.push(page);
          await page.goto(`${gateway.httpUrl}/?${new URLSearchParams({ room, token: 'alice' })}`);
          await live(page, room);
          await say(page, room, 'tap me');
          const mine = item(page, room, 'tap me');
          await mine.and(page.locator('.own')).waitFor(WAIT);
          const edit = mine.getByRole('button', { name: 'Edit message' });
          const closed = await edit.isVisible();

          // Act
          await mine.getByRole('button', { name: 'Message actions' }).tap();

          // Assess
          expect(closed).toBe(false);
          await edit.waitFor(WAIT);
          expect(await mine.getByRole('button', { name: 'Add a reaction' }).isVisible()).toBe(true);
        },
      );
    });

    it('shows message actions on hover or focus, and no empty reaction buttons', async () => {
      await withScreenshots(
        'hover actions',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('hover');
          const alice = await openAs(gateway.httpUrl, 'alice', [room]);
          await say(alice, room, 'hover me');
          const mine = item(alice, room, 'hover me');
          await mine.and(alice.locator('.own')).waitFor(WAIT);
          const opacity = () =>
            mine
              .locator('.own-actions')
              .evaluate((actions) => actions.ownerDocument.defaultView?.getComputedStyle(actions).opacity);
          await alice.mouse.move(0, 0);
          const idle = await opacity();

          // Act
          await mine.hover();
          const hovered = await opacity();

          // Assess
          expect(idle).toBe('0');
          expect(hovered).toBe('1');
          expect(await mine.locator('.reaction').count()).toBe(0);
          expect(await mine.getByRole('button', { name: 'Add a reaction' }).count()).toBe(1);
        },
      );
    });
  });

  describe('defects a user met', () => {
    it('recognises your own messages at once after a reload, before you type', async () => {
      await withScreenshots(
        'own after reload',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('self');
          const alice = await openAs(gateway.httpUrl, 'alice', [room]);
          await say(alice, room, 'written before the reload');
          await panel(alice, room).locator('.msg.own').waitFor(WAIT);

          // Act
          await alice.reload();
          await live(alice, room);
          const mine = panel(alice, room).locator('.msg', { hasText: 'written before the reload' });
          await mine.waitFor(WAIT);

          // Assess
          await panel(alice, room).locator('.msg.own').waitFor(WAIT);
          expect(await mine.getAttribute('class')).toContain('own');
          expect(await mine.locator('.you').isVisible()).toBe(true);
          expect(await mine.getByRole('button', { name: 'Edit message' }).count()).toBe(1);
          expect(await mine.getByRole('button', { name: 'Delete message' }).count()).toBe(1);
        },
      );
    });
  });
});
