import type { Browser, Page } from 'playwright-core';
import { ensurePageBuilt, launchBrowser } from './browser.js';
import { type SuiteGateway, suiteGateway } from './gateway.js';

/** How long a browser test waits for what a user would see. */
export const WAIT = { timeout: 30_000 };
/** The service key of {@link demoGateway}: injections over HTTP post as `Bearer ${SERVICE_KEY}`. */
export const SERVICE_KEY = 'browser-test-key';
/** A desktop window. */
export const DESKTOP = { width: 1100, height: 750 };
/** A phone held upright (an iPhone 12-14). */
export const PHONE = { width: 390, height: 844 };

/**
 * Opens the demo page as `token` in its own browser context (own storage, like another person),
 * joined to `rooms`, and waits until each is live; `extra` adds query parameters (`page`, `max`).
 * The page is added to `pages` (closed after each test).
 */
export async function openPage(
  browser: Browser,
  pages: Page[],
  base: string,
  token: string,
  rooms: string[],
  path = '/',
  extra: Record<string, string> = {},
  viewport = DESKTOP,
): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  pages.push(page);
  const query = new URLSearchParams([
    ...rooms.map((room): [string, string] => ['room', room]),
    ['token', token],
    ...Object.entries(extra),
  ]);
  await page.goto(`${base}${path}?${query}`);
  for (const room of rooms) await live(page, room);
  return page;
}

/** A room's panel. */
export function panel(page: Page, room: string) {
  return page.locator(`.room[data-room="${room}"]`);
}

/** A message item in a room's log by its body text. */
export function item(page: Page, room: string, text: string) {
  return panel(page, room).locator('.log .msg', { has: page.locator('.body', { hasText: text }) });
}

/** Waits until a room is live (rooms not on screen are hidden; their state still counts). */
export async function live(page: Page, room: string): Promise<void> {
  await panel(page, room)
    .locator('.state[data-state="live"]')
    .waitFor({ state: 'attached', ...WAIT });
}

/** Types a message in a room's composer and sends it with Enter. */
export async function say(page: Page, room: string, text: string): Promise<void> {
  const box = page.getByLabel(`Message to ${room}`);
  await box.fill(text);
  await box.press('Enter');
}

/** Message bodies of a room in the order the page shows them. */
export function bodies(page: Page, room: string): Promise<string[]> {
  return panel(page, room).locator('.log .msg .body').allInnerTexts();
}

/** Posts an item of `type` to a room over HTTP (`/talk/item/...`) as `authorization`; throws unless 201. */
export async function post(
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

/**
 * The browser of one test file, for use at its top level: the page built and Chromium launched
 * before the tests, the pages of each test (in `pages`) closed after it, Chromium closed at the end.
 */
export function demoBrowser() {
  let launched: Browser | undefined;
  const pages: Page[] = [];
  const browser = (): Browser => {
    if (!launched) throw new Error('the browser starts in beforeAll');
    return launched;
  };

  beforeAll(async () => {
    ensurePageBuilt();
    launched = await launchBrowser();
  });

  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.context().close()));
  });

  afterAll(async () => {
    await launched?.close();
  });

  return {
    browser,
    /** The pages the running test opened; a test that opens one itself pushes it here. */
    pages,
    /** Opens the page as `token` in its own browser context (see {@link openPage}). */
    openAs: (
      base: string,
      token: string,
      rooms: string[],
      path = '/',
      extra: Record<string, string> = {},
      viewport = DESKTOP,
    ): Promise<Page> => openPage(browser(), pages, base, token, rooms, path, extra, viewport),
  };
}

/**
 * A gateway for the enclosing `describe`, on the in-memory store and bus with {@link SERVICE_KEY}:
 * started before its tests, stopped after them.
 */
export function demoGateway(): SuiteGateway {
  return suiteGateway({ HIPOCHAT_SERVICE_KEY: SERVICE_KEY });
}
