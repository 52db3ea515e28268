/** Handler bundles built like the CDK stack does, with their size and cold module init time. */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { routes } from '../lambdas/routes.js';
import { ROOT } from './services.js';

const run = promisify(execFile);

/** The banner of `infra/constructs/chat-function.ts` (copied: importing it loads aws-cdk-lib). */
const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/** Size and init time of one handler bundle. */
export interface BundleFigure {
  name: string;
  entry: string;
  bytes: number;
  gzipBytes: number;
  /** Median milliseconds to import the bundle in a fresh `node` process. */
  initMs: number;
  initRuns: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor(sorted.length / 2)]!;
};

/**
 * Bundles each handler of the routes table (ESM, node24, minified, AWS SDK external as on the
 * Lambda runtime) into `node_modules/.cache` (so the external SDK resolves), then imports each
 * `runs` times in a fresh process.
 */
export async function measureBundles(runs: number, only?: readonly string[]): Promise<BundleFigure[]> {
  const out = join(ROOT, 'node_modules', '.cache', 'hipochat-bench', 'bundles');
  mkdirSync(out, { recursive: true });
  const figures: BundleFigure[] = [];
  for (const route of routes) {
    if (only && !only.includes(route.name)) continue;
    const file = join(out, `${route.name}.mjs`);
    await build({
      entryPoints: [join(ROOT, route.entry)],
      outfile: file,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      minify: true,
      mainFields: ['module', 'main'],
      banner: { js: ESM_REQUIRE_BANNER },
      external: ['@aws-sdk/*'],
      logLevel: 'silent',
    });
    const times: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      const script = `const t=performance.now();await import(${JSON.stringify(`file://${file}`)});console.log(performance.now()-t)`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        cwd: ROOT,
        timeout: 20_000,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
      times.push(Number(stdout.trim()));
    }
    figures.push({
      name: route.name,
      entry: route.entry,
      bytes: statSync(file).size,
      gzipBytes: gzipSync(readFileSync(file)).length,
      initMs: median(times),
      initRuns: runs,
    });
  }
  return figures;
}
