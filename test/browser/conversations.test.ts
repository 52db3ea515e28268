// biome-ignore-all lint/performance/useDomNodeTextContent: Locator.innerText (what the user sees), not the DOM property
import { createServer } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { axeViolations, ensurePageBuilt, launchBrowser, withScreenshots } from '../support/browser.js';
import { httpAs } from '../support/chat-client.js';
import { DESKTOP, item, openPage, PHONE, panel, say, WAIT } from '../support/demo-page.js';
import { type ChatEndpoints, startGateway } from '../support/gateway.js';
import { listenOnLoopback } from '../support/net.js';
import { uniqueRoom } from '../support/rooms.js';
import { eventually } from '../support/wait.js';

jest.setTimeout(180_000);

const SERVICE_KEY = 'conversations-browser-key';
let browser: Browser;
const pages: Page[] = [];

/** A moderation hook that rejects every body containing "spam" ("no spam here") and allows the rest. */
async function startHook(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { body } = JSON.parse(Buffer.concat(chunks).toString()) as { body: unknown };
      const decision = JSON.stringify(body).includes('spam')
        ? { action: 'reject', reason: 'no spam here' }
        : { action: 'allow' };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(decision));
    });
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/moderate`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The thread view of a room's panel. */
function threadView(page: Page, room: string) {
  return panel(page, room).getByRole('region', { name: 'Thread' });
}

/** Bodies of the messages a thread view shows, root first. */
function threadBodies(page: Page, room: string): Promise<string[]> {
  return threadView(page, room).locator('.thread-log .msg .body').allInnerTexts();
}

describe('conversations on the demo page', () => {
  let gateway: ChatEndpoints;
  let hook: Awaited<ReturnType<typeof startHook>>;

  beforeAll(async () => {
    ensurePageBuilt();
    hook = await startHook();
    [browser, gateway] = await Promise.all([
      launchBrowser(),
      startGateway({ HIPOCHAT_SERVICE_KEY: SERVICE_KEY, HIPOCHAT_MODERATION_URL: hook.url }),
    ]);
  });

  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.context().close()));
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await hook?.close();
  });

  function openAs(token: string, rooms: string[], viewport = DESKTOP): Promise<Page> {
    return openPage(browser, pages, gateway.httpUrl, token, rooms, '/', {}, viewport);
  }

  /** Opens the thread of the message `text` from its actions ("Reply in thread"). */
  async function replyInThread(page: Page, room: string, text: string): Promise<void> {
    const root = item(page, room, text);
    await root.hover();
    await root.getByRole('button', { name: 'Reply in thread' }).click();
    await threadView(page, room).waitFor(WAIT);
  }

  async function replyWith(page: Page, text: string): Promise<void> {
    const box = page.getByLabel('Reply in thread');
    await box.fill(text);
    await box.press('Enter');
  }

  describe('threads', () => {
    it('replies in a thread view beside the log, and the count under the root updates live for the other user', async () => {
      await withScreenshots(
        'thread reply',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('thread');
          const alice = await openAs('alice', [room]);
          const bob = await openAs('bob', [room]);
          await say(alice, room, 'who reviews the release notes?');
          await item(bob, room, 'who reviews the release notes?').waitFor(WAIT);

          // Act
          await replyInThread(bob, room, 'who reviews the release notes?');
          await replyWith(bob, 'I can, after lunch');

          // Assess
          await threadView(bob, room).getByText('I can, after lunch').waitFor(WAIT);
          expect(await threadBodies(bob, room)).toEqual([
            'who reviews the release notes?',
            'I can, after lunch',
          ]);
          const count = item(alice, room, 'who reviews the release notes?').getByRole('button', {
            name: 'Open thread: 1 reply',
          });
          await count.waitFor(WAIT);
          expect(await count.innerText()).toBe('1 reply');
          // Replies live in their thread, not in the room's list.
          expect(await panel(alice, room).locator('.log .msg .body').allInnerTexts()).toEqual([
            'who reviews the release notes?',
          ]);
          await count.click();
          await threadView(alice, room).getByText('I can, after lunch').waitFor(WAIT);
          expect(await threadView(alice, room).locator('.thread-count').innerText()).toBe('1 reply');
          await say(bob, room, 'unrelated');
          await replyWith(bob, 'done reading');
          await threadView(alice, room).getByText('done reading').waitFor(WAIT);
          await item(alice, room, 'who reviews the release notes?')
            .getByRole('button', { name: 'Open thread: 2 replies' })
            .waitFor(WAIT);
        },
      );
    });

    it('takes the whole screen on a phone, with a back control that returns to the room', async () => {
      await withScreenshots(
        'thread phone',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('phone-thread');
          const alice = await openAs('alice', [room], PHONE);
          await say(alice, room, 'lunch at noon?');
          const root = item(alice, room, 'lunch at noon?');
          await root.and(alice.locator('.own')).waitFor(WAIT);

          // Act
          await root.hover();
          await root.getByRole('button', { name: 'Reply in thread' }).click();
          const box = await threadView(alice, room).boundingBox();
          const back = alice.getByRole('button', { name: `← Back to ${room}` });
          await back.click();

          // Assess
          expect(box).toMatchObject({ x: 0, y: 0, width: PHONE.width, height: PHONE.height });
          await threadView(alice, room).waitFor({ state: 'hidden', ...WAIT });
          expect(await alice.getByLabel(`Message to ${room}`).isVisible()).toBe(true);
        },
      );
    });
  });

  it('highlights a message that mentions you, from an @name typed by a user the page knows', async () => {
    await withScreenshots(
      'mention',
      () => pages,
      async () => {
        // Prepare: alice's page knows bob (online, and an author).
        const room = uniqueRoom('mention');
        const alice = await openAs('alice', [room]);
        const bob = await openAs('bob', [room]);
        await say(bob, room, 'morning');
        await item(alice, room, 'morning').waitFor(WAIT);

        // Act
        await say(alice, room, '@bob can you look at the build?');
        await say(alice, room, 'and @nobody-here neither');

        // Assess
        const mentioned = item(bob, room, 'can you look at the build?');
        await mentioned.and(bob.locator('.mentioned')).waitFor(WAIT);
        expect(await mentioned.locator('.mention-tag').innerText()).toBe('mentions you');
        await item(bob, room, 'neither').waitFor(WAIT);
        expect(await item(bob, room, 'neither').getAttribute('class')).not.toContain('mentioned');
        expect(await item(alice, room, 'can you look at the build?').getAttribute('class')).not.toContain(
          'mentioned',
        );
        expect(await httpAs(gateway.httpUrl, 'bob').counts(room)).toMatchObject({
          mentions: expect.any(Number),
        });
      },
    );
  });

  it('moves the unread divider and badges the tab on "Mark unread", and new messages leave it unread', async () => {
    await withScreenshots(
      'mark unread',
      () => pages,
      async () => {
        // Prepare: bob has read alice's three messages.
        const room = uniqueRoom('unread');
        const alice = await openAs('alice', [room]);
        const bob = await openAs('bob', [room]);
        for (const text of ['first', 'second', 'third']) await say(alice, room, text);
        await item(bob, room, 'third').waitFor(WAIT);
        const bobHttp = httpAs(gateway.httpUrl, 'bob');
        await eventually(async () => (await bobHttp.notification(room)) === 0, 'bob reading the room');

        // Act
        const second = item(bob, room, 'second');
        await second.hover();
        await second.getByRole('button', { name: 'Mark unread' }).click();

        // Assess
        const divider = panel(bob, room).getByRole('separator', { name: /unread/ });
        await divider.waitFor(WAIT);
        expect(await divider.innerText()).toBe('2 unread messages');
        const order = await panel(bob, room)
          .locator('.log > li:not(.day)')
          .evaluateAll((items) =>
            items.map((li) =>
              li.classList.contains('divider') ? '---' : (li.querySelector('.body')?.textContent ?? ''),
            ),
          );
        expect(order).toEqual(['first', '---', 'second', 'third']);
        const badge = bob.getByRole('tab', { name: new RegExp(room) }).locator('.badge');
        await badge.filter({ hasText: '2' }).waitFor(WAIT);
        await say(alice, room, 'fourth');
        await item(bob, room, 'fourth').waitFor(WAIT);
        await eventually(async () => (await bobHttp.notification(room)) === 3, 'the fourth counted unread');
      },
    );
  });

  describe('refusals by moderation', () => {
    it('says a message was rejected, with the reason, and keeps the text in the box', async () => {
      await withScreenshots(
        'rejected',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('rejected');
          const alice = await openAs('alice', [room]);

          // Act
          await say(alice, room, 'cheap spam here');

          // Assess
          const line = panel(alice, room).locator('.room-main .send-error');
          await line.filter({ hasText: 'Your message was rejected: no spam here.' }).waitFor(WAIT);
          expect(await alice.getByLabel(`Message to ${room}`).inputValue()).toBe('cheap spam here');
          expect(await panel(alice, room).locator('.log .msg').count()).toBe(0);
        },
      );
    });

    it('says a muted user is muted for N more seconds, counting down, with Send off', async () => {
      await withScreenshots(
        'muted',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('muted');
          const bob = await openAs('bob', [room]);
          await say(bob, room, 'before the mute');
          await item(bob, room, 'before the mute').waitFor(WAIT);
          const muted = await fetch(`${gateway.httpUrl}/talk/mute/${room}/bob/`, {
            method: 'POST',
            headers: { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify({ seconds: 90 }),
          });
          expect(muted.status).toBe(200);

          // Act
          await say(bob, room, 'can I still talk?');

          // Assess
          const line = panel(bob, room).locator('.room-main .send-error');
          await line.filter({ hasText: /^You are muted in this room for \d+ more seconds\.$/ }).waitFor(WAIT);
          const seconds = Number(/for (\d+) more/.exec(await line.innerText())![1]);
          expect(seconds).toBeGreaterThan(0);
          expect(seconds).toBeLessThanOrEqual(90);
          expect(await panel(bob, room).getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
          expect(await bob.getByLabel(`Message to ${room}`).inputValue()).toBe('can I still talk?');
          await line.filter({ hasText: `for ${seconds - 1} more seconds` }).waitFor(WAIT);
        },
      );
    });
  });

  describe('accessibility (axe-core, WCAG 2.1 A/AA and best practices)', () => {
    it.each([
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ])(
      'finds no violation with a thread open, a mention and a moved divider on %s',
      async (_name, viewport) => {
        await withScreenshots(
          `axe thread ${_name}`,
          () => pages,
          async () => {
            // Prepare
            const room = uniqueRoom('axe-thread');
            const bob = await openAs('bob', [room]);
            const alice = await openAs('alice', [room], viewport);
            await say(bob, room, 'hello @alice');
            await say(bob, room, 'a root to reply to');
            await item(alice, room, 'a root to reply to').waitFor(WAIT);
            const root = item(alice, room, 'a root to reply to');
            await root.hover();
            await root.getByRole('button', { name: 'Reply in thread' }).click();
            await replyWith(alice, 'a reply, @bob');
            await threadView(alice, room).getByText('a reply, @bob').waitFor(WAIT);

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
