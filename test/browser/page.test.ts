// biome-ignore-all lint/performance/useDomNodeTextContent: Locator.innerText (what the user sees), not the DOM property
import type { Browser, Page } from 'playwright-core';
import { axeViolations, ensurePageBuilt, launchBrowser, withScreenshots } from '../support/browser.js';
import { httpAs, settledLeave } from '../support/chat-client.js';
import { DESKTOP, item, live, openPage, PHONE, panel, say, WAIT } from '../support/demo-page.js';
import { type ChatEndpoints, realServices, startGateway } from '../support/gateway.js';
import { freePort } from '../support/net.js';
import { uniqueRoom } from '../support/rooms.js';

jest.setTimeout(180_000);

const SERVICE_KEY = 'browser-test-key';
let browser: Browser;
const pages: Page[] = [];

beforeAll(async () => {
  ensurePageBuilt();
  browser = await launchBrowser();
});

afterEach(async () => {
  await Promise.all(pages.splice(0).map((page) => page.context().close()));
});

afterAll(async () => {
  await browser?.close();
});

/** Opens the page as `token` in its own browser context (see {@link openPage}). */
function openAs(
  base: string,
  token: string,
  rooms: string[],
  path = '/',
  extra: Record<string, string> = {},
  viewport = DESKTOP,
): Promise<Page> {
  return openPage(browser, pages, base, token, rooms, path, extra, viewport);
}

/**
 * Bytes of a message frame around its body: `{"type":"message","body":"…","clientId":"<uuid>","room":"<room>"}`
 * (the page's socket follows several rooms, so every frame names its room).
 */
function around(room: string): number {
  return 78 + ',"room":""'.length + room.length;
}

/** Message bodies of a room in the order the page shows them. */
function bodies(page: Page, room: string): Promise<string[]> {
  return panel(page, room).locator('.log .msg .body').allInnerTexts();
}

async function post(
  httpUrl: string,
  room: string,
  type: string,
  body: unknown,
  authorization: string,
): Promise<void> {
  const response = await fetch(`${httpUrl}/talk/item/${room}/?type=${type}`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 201)
    throw new Error(`inject answered ${response.status}: ${await response.text()}`);
}

describe('the demo page', () => {
  let gateway: ChatEndpoints;

  beforeAll(async () => {
    gateway = await startGateway({ HIPOCHAT_SERVICE_KEY: SERVICE_KEY });
  });

  afterAll(async () => {
    await gateway.stop();
  });

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
        const context = await browser.newContext({ viewport: { width: 1100, height: 750 } });
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

  it.each(['wrong$token', 'not valid!'])(
    'says the token %j was refused instead of retrying',
    async (token) => {
      await withScreenshots(
        'refused',
        () => pages,
        async () => {
          // Prepare
          const context = await browser.newContext();
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

    it('opens the actions of a message from its menu button on a touch screen', async () => {
      await withScreenshots(
        'touch menu',
        () => pages,
        async () => {
          // Prepare
          const room = uniqueRoom('touch');
          const context = await browser.newContext({ viewport: PHONE, hasTouch: true, isMobile: true });
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

  it('joins from the form with the keyboard alone', async () => {
    await withScreenshots(
      'keyboard join',
      () => pages,
      async () => {
        // Prepare
        const context = await browser.newContext();
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
