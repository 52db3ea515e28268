import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

const ROOT = resolve(__dirname, '../..');
const RESULTS = join(ROOT, 'test-results');

/** Debian's Chromium; the tests never download a browser. */
export const CHROMIUM = process.env.HIPOCHAT_CHROMIUM ?? '/usr/bin/chromium';

/** Starts Chromium headless with flags that keep it quiet and offline. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
      '--disable-sync',
    ],
  });
}

function newestSource(folder: string): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.name === 'dist') continue;
    const path = join(folder, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds web/dist when it is missing or older than the page's sources (`npm test` builds first anyway). */
export function ensurePageBuilt(): void {
  const page = join(ROOT, 'web', 'dist', 'index.html');
  if (existsSync(page) && statSync(page).mtimeMs >= newestSource(join(ROOT, 'web'))) return;
  execFileSync(process.execPath, ['--import', 'tsx', 'web/build.ts'], { cwd: ROOT, stdio: 'pipe' });
}

/**
 * Runs `work`; when it throws, saves a screenshot of every page under test-results/ (named after
 * the test) before rethrowing, so a failure in CI shows what the user would have seen.
 */
export async function withScreenshots<T>(
  name: string,
  pages: () => Page[],
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    mkdirSync(RESULTS, { recursive: true });
    const slug = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    await Promise.all(
      pages().map((page, index) =>
        page.isClosed()
          ? undefined
          : page
              .screenshot({ path: join(RESULTS, `${slug}-${index + 1}.png`), fullPage: true })
              .catch(() => {}),
      ),
    );
    throw error;
  }
}

/** The axe-core rule tags the page is held to: WCAG 2.1 A and AA, and axe's best practices. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/** One axe-core finding, enough to read in a failed expectation. */
export interface AxeViolation {
  id: string;
  impact: string | null | undefined;
  targets: string[];
}

/** Runs axe-core in `page` (injected from the dev dependency, never fetched) and lists what it finds. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  const { source } = await import('axe-core');
  await page.evaluate(source);
  return page.evaluate(async (tags) => {
    const axe = (globalThis as unknown as { axe: typeof import('axe-core') }).axe;
    const results = await axe.run({ runOnly: { type: 'tag', values: tags } });
    return results.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      targets: violation.nodes.map((node) => node.target.join(' ')),
    }));
  }, AXE_TAGS);
}
