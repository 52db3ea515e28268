/**
 * Builds the demo page into web/dist/index.html: one file with the bundled script and the
 * stylesheet (style.css and the parts it imports) inlined, so it works at `/`, `/talk/`, from S3
 * under any prefix, and offline.
 * Run with `npm run build:web`. The page uses `@hipochat/client` like any app: the package's built
 * bundle (`npm run build:packages`), not its sources.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BROWSER_TARGETS } from '../packages/targets.js';

const WEB = fileURLToPath(new URL('.', import.meta.url));
const DIST = join(WEB, 'dist');

async function main(): Promise<void> {
  const script = await build({
    entryPoints: [join(WEB, 'app.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: [...BROWSER_TARGETS],
    // The installed package's entry (its `exports`), whatever web/tsconfig.json maps for typechecks.
    alias: { '@hipochat/client': fileURLToPath(import.meta.resolve('@hipochat/client')) },
    write: false,
    legalComments: 'none',
  });
  const js = script.outputFiles[0]!.text;
  // style.css lists its parts (web/styles/) with @import; bundling inlines them in that order.
  const style = await build({
    entryPoints: [join(WEB, 'style.css')],
    bundle: true,
    minify: true,
    write: false,
  });
  const css = style.outputFiles[0]!.text;
  const template = await readFile(join(WEB, 'index.html'), 'utf8');
  const link = '<link rel="stylesheet" href="style.css" />';
  const tag = '<script defer src="app.js"></script>';
  if (!template.includes(link) || !template.includes(tag)) {
    throw new Error('web/index.html must reference style.css and app.js exactly once');
  }
  // esbuild escapes `</script` inside strings, so inlining cannot end the tag early. An inline
  // script cannot be deferred, so it goes to the end of <body>, after the elements it uses.
  const page = template
    .replace(link, () => `<style>${css.trim()}</style>`)
    .replace(`    ${tag}\n`, '')
    .replace('</body>', () => `  <script>${js.trim()}</script>\n  </body>`);
  await mkdir(DIST, { recursive: true });
  await writeFile(join(DIST, 'index.html'), page);
  const bytes = Buffer.byteLength(page);
  const gzipped = gzipSync(page).length;
  process.stdout.write(
    `web/dist/index.html: ${(bytes / 1024).toFixed(1)} KiB (${(gzipped / 1024).toFixed(1)} KiB gzipped), script ${(Buffer.byteLength(js) / 1024).toFixed(1)} KiB\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`build:web failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
