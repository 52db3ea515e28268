import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BROWSER_TARGETS } from '../../packages/targets.js';
import { PACKAGES, packedApp } from '../support/packed.js';

const ROOT = resolve(__dirname, '../..');
const installed = (name: string, file = '') => join(packedApp(), 'node_modules', name, file);
const manifest = (name: string) => JSON.parse(readFileSync(installed(name, 'package.json'), 'utf8'));

/** The size budget of `@hipochat/client`, minified and gzipped. */
const CLIENT_BUDGET_BYTES = 15 * 1024;

/**
 * APIs newer than the declared browser targets (Chrome 100, Firefox 100, Safari 15): the built
 * client must not contain them. Feature-detected uses (`crypto.randomUUID` with a fallback) are
 * not listed.
 */
const TOO_NEW: [RegExp, string][] = [
  [/\bObject\.hasOwn\b/, 'Object.hasOwn (Safari 15.4)'],
  [/\bnew Intl\.Segmenter\b/, 'Intl.Segmenter (Firefox 125)'],
  [/\.at\(-?\d/, 'Array.prototype.at (Safari 15.4)'],
  [/\.findLast(Index)?\(/, 'Array.prototype.findLast (Safari 15.4, Firefox 104)'],
  [/\bstructuredClone\(/, 'structuredClone (Safari 15.4)'],
  [/\bAbortSignal\.(timeout|any)\b/, 'AbortSignal.timeout (Chrome 103, Safari 15.4)'],
  [/\.(toSorted|toReversed|toSpliced|with)\(/, 'change-array-by-copy (Chrome 110)'],
  [/\bObject\.groupBy\b|\bMap\.groupBy\b/, 'groupBy (Chrome 117)'],
  [/\bPromise\.withResolvers\b/, 'Promise.withResolvers (Chrome 119)'],
  [/\bString\.prototype\.isWellFormed\b|\.isWellFormed\(/, 'isWellFormed (Chrome 111)'],
];

/** The APIs of {@link TOO_NEW} that `code` calls. */
function tooNew(code: string): string[] {
  return TOO_NEW.filter(([pattern]) => pattern.test(code)).map(([, what]) => what);
}

describe('the packed packages', () => {
  it.each(PACKAGES)('$name installs from its tarball with dist, types and README only', ({ name }) => {
    const pkg = manifest(name);
    const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.version).toBe(root.version);
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(pkg.engines.node).toBe('>=20');
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(existsSync(installed(name, 'README.md'))).toBe(true);
    expect(existsSync(installed(name, 'dist/index.d.ts'))).toBe(true);
    expect(existsSync(installed(name, 'src'))).toBe(false);
  });

  it('loads both packages with plain node (no tsx, no .ts files)', () => {
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        "Promise.all([import('@hipochat/client'), import('@hipochat/server')]).then(([c, s]) => console.log(typeof c.HipochatClient, typeof s.HipochatServer))",
      ],
      { cwd: packedApp(), encoding: 'utf8' },
    );
    expect(out.trim()).toBe('function function');
  });

  it('typechecks an app that imports both packages by name', () => {
    writeFileSync(
      join(packedApp(), 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          types: [],
          noEmit: true,
        },
        files: ['app.ts'],
      }),
    );
    writeFileSync(
      join(packedApp(), 'app.ts'),
      [
        "import { HipochatClient, type ChatMessage, CloseCode } from '@hipochat/client';",
        "import { HipochatServer, verifyPushSignature } from '@hipochat/server';",
        "const client = new HipochatClient({ url: 'ws://127.0.0.1:1', room: 'r', token: 't' });",
        "client.on('message', (message: ChatMessage) => message.id.length);",
        "const server = new HipochatServer({ httpUrl: 'http://127.0.0.1:1', serviceKey: 'k' });",
        "export const checks = [server.inject('r', 'notice', {}), verifyPushSignature('', 't=1,v1=00', 's'), CloseCode.ClientClosed];",
      ].join('\n'),
    );
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    expect(() =>
      execFileSync(process.execPath, [tsc, '-p', packedApp()], { encoding: 'utf8' }),
    ).not.toThrow();
  });
});

describe('@hipochat/client in browsers', () => {
  async function bundle(target: readonly string[]): Promise<string> {
    const result = await build({
      stdin: { contents: "export * from '@hipochat/client';", resolveDir: packedApp() },
      bundle: true,
      minify: true,
      format: 'esm',
      target: [...target],
      write: false,
      logLevel: 'silent',
    });
    return result.outputFiles[0]!.text;
  }

  it(`fits the size budget of ${CLIENT_BUDGET_BYTES / 1024} KB minified and gzipped`, async () => {
    const bytes = gzipSync(await bundle(BROWSER_TARGETS)).length;
    expect(bytes).toBeLessThanOrEqual(CLIENT_BUDGET_BYTES);
  });

  it('needs no syntax newer than the declared targets (esbuild refuses to lower what it cannot)', async () => {
    await expect(bundle(BROWSER_TARGETS)).resolves.toEqual(expect.any(String));
  });

  it('calls no API newer than the declared targets', () => {
    expect(tooNew(readFileSync(installed('@hipochat/client', 'dist/index.js'), 'utf8'))).toEqual([]);
  });

  it('builds a demo page that calls no API newer than the declared targets either', () => {
    const page = join(ROOT, 'web/dist/index.html');
    expect({ built: existsSync(page), hint: 'npm run build:web (pretest runs it)' }).toEqual(
      expect.objectContaining({ built: true }),
    );
    expect(tooNew(readFileSync(page, 'utf8'))).toEqual([]);
  });
});

describe('the wire types', () => {
  it('make a new server frame kind a build error of the client until it handles it', () => {
    const copy = mkdtempSync(join(tmpdir(), 'hipochat-frames-'));
    try {
      cpSync(join(ROOT, 'protocol'), join(copy, 'protocol'), { recursive: true });
      cpSync(join(ROOT, 'packages/client/src'), join(copy, 'packages/client/src'), { recursive: true });
      cpSync(join(ROOT, 'tsconfig.base.json'), join(copy, 'tsconfig.base.json'));
      writeFileSync(join(copy, 'package.json'), '{"type":"module"}');
      cpSync(join(ROOT, 'packages/client/tsconfig.json'), join(copy, 'packages/client/tsconfig.json'));
      // The file of protocol/ that declares the union, wherever it lives; a kind joins its end.
      const union = /export type ServerFrame =\n((?:\s+\| \w+\n?)+?);/;
      const frames = readdirSync(join(copy, 'protocol'))
        .map((name) => join(copy, 'protocol', name))
        .find((path) => union.test(readFileSync(path, 'utf8')));
      expect(frames).toEqual(expect.any(String));
      const source = readFileSync(frames!, 'utf8');
      writeFileSync(
        frames!,
        source.replace(union, (whole) => `${whole.slice(0, -1)}\n  | { kind: 'novel'; room: string };`),
      );
      const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
      let output = '';
      try {
        execFileSync(process.execPath, [tsc, '-p', join(copy, 'packages/client/tsconfig.json')], {
          encoding: 'utf8',
        });
      } catch (error) {
        output = String((error as { stdout?: string }).stdout);
      }
      // protocol/ itself refuses the new kind too (its readers and field lists); the client's own error is in room.ts.
      const errors = output.split('\n').filter((line) => line.includes('packages/client/src/'));
      expect(errors).toEqual([
        expect.stringMatching(/room\.ts.*"novel".*not assignable to parameter of type 'never'/),
      ]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
