import type { Browser, Page } from 'playwright-core';

/** How long a browser test waits for what a user would see. */
export const WAIT = { timeout: 30_000 };
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
