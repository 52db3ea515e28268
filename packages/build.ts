/**
 * Builds the packages into packages/<name>/dist: one ESM bundle (esbuild, protocol/ inlined, no
 * runtime dependencies) and the declarations (tsc), with dist/index.d.ts as the types entry.
 * Run with `npm run build:packages` (`pretest` and `build:web` run it).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BROWSER_TARGETS, SERVER_TARGETS } from './targets.js';

const PACKAGES = fileURLToPath(new URL('.', import.meta.url));

/** How each package is bundled. */
export const PACKAGE_BUILDS = {
  client: { platform: 'neutral', target: BROWSER_TARGETS },
  server: { platform: 'node', target: SERVER_TARGETS },
} as const;

async function version(dir: string): Promise<string> {
  return (JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

async function buildPackage(name: keyof typeof PACKAGE_BUILDS): Promise<void> {
  const root = join(PACKAGES, name);
  // The packages are versioned with the project: a release bumps all three package.json files.
  const [own, project] = await Promise.all([version(root), version(join(PACKAGES, '..'))]);
  if (own !== project)
    throw new Error(`packages/${name} is at ${own}, the project at ${project}: bump them together`);
  const dist = join(root, 'dist');
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  await build({
    entryPoints: [join(root, 'src/index.ts')],
    outfile: join(dist, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: PACKAGE_BUILDS[name].platform,
    target: [...PACKAGE_BUILDS[name].target],
    external: ['node:*'],
    legalComments: 'none',
    logLevel: 'warning',
  });
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin/tsc');
  const types = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  if (types.status !== 0) throw new Error(`declarations of ${name} failed`);
  await writeFile(join(dist, 'index.d.ts'), `export * from './types/packages/${name}/src/index.js';\n`);
}

async function main(): Promise<void> {
  for (const name of Object.keys(PACKAGE_BUILDS) as (keyof typeof PACKAGE_BUILDS)[]) await buildPackage(name);
  process.stdout.write('packages built: client, server\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`build:packages failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
