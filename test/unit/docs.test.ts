import { configReference, envSchema } from '../../lambdas/core/config.js';
import {
  benchFigures,
  fillFigures,
  latestBenchRun,
  quotedFigures,
  unmarkedFigures,
} from '../../scripts/doc-figures.js';
import { committed, figureDocs, generatedDocs } from '../../scripts/generated-docs.js';
import { routeFigures } from '../../scripts/route-docs.js';

describe('docs/configuration.md', () => {
  it('is exactly what `npm run docs` generates from the config schema', () => {
    expect(committed('docs/configuration.md')).toBe(generatedDocs().get('docs/configuration.md'));
  });

  it('has a row with a default, a rule and a meaning for every variable the schema reads', () => {
    const rows = configReference();
    expect(rows.map((row) => row.variable).sort()).toEqual(Object.keys(envSchema.shape).sort());
    const incomplete = rows.filter((row) => !row.default || !row.rule || !row.meaning);
    expect(incomplete).toEqual([]);
  });

  it('shows the schema default where no words replace it', () => {
    const row = (name: string) => configReference().find((entry) => entry.variable === name);
    expect(row('HIPOCHAT_LISTEN_PORT')).toMatchObject({
      default: '`8888`',
      rule: 'an integer from 0 to 65535',
    });
    expect(row('HIPOCHAT_AMQP_NAMESPACE')?.default).toBe('`hipochat`');
    expect(row('HIPOCHAT_CLOSED_ROOMS')?.default).toBe('empty');
  });
});

describe('figures quoted in README.md and docs/', () => {
  const figures = new Map([...benchFigures(latestBenchRun()), ...routeFigures()]);

  it.each(figureDocs())('%s quotes the bench’s latest results and the routes table as they are', (path) => {
    expect(committed(path)).toBe(generatedDocs(figures).get(path));
  });

  it.each(figureDocs())('%s quotes only figures that have a source', (path) => {
    const unknown = quotedFigures(committed(path)).filter(
      (name) => !figures.has(name) && !name.startsWith('idle-'),
    );
    expect(unknown).toEqual([]);
  });

  it.each(figureDocs())(
    '%s quotes no cost per message, idle cost or bundle size without a marker',
    (path) => {
      expect(unmarkedFigures(committed(path))).toEqual([]);
    },
  );
});

describe('the figure check', () => {
  const figures = new Map([['per-million-10', '$11.49']]);

  it('replaces a figure that disagrees with its source', () => {
    const stale = 'about <!-- figure:per-million-10 -->$11.80<!-- /figure --> per million messages';
    expect(fillFigures(stale, figures)).toBe(
      'about <!-- figure:per-million-10 -->$11.49<!-- /figure --> per million messages',
    );
  });

  it('fills a generated block between its markers', () => {
    const page = 'before\n\n<!-- figures:per-million-10 -->\nold\n<!-- /figures -->\n\nafter';
    expect(fillFigures(page, figures)).toBe(
      'before\n\n<!-- figures:per-million-10 -->\n\n$11.49\n\n<!-- /figures -->\n\nafter',
    );
  });

  it('finds cost and size figures typed without a marker', () => {
    const page = [
      'Per million chat messages: ≈ $11.80 in rooms of 10.',
      'and **$11.51 per million messages** in rooms of 10,',
      '412 KB handler bundles with ~220 ms cold init',
      'handler bundles of 456 KB, and a route handler is about 0.4 MB.',
      'the dev idle bill is $43 a month',
    ].join('\n');
    expect(unmarkedFigures(page)).toEqual([
      '$11.51 per million messages',
      'Per million chat messages: ≈ $11.80',
      '412 KB handler bundles',
      'handler bundles of 456 KB',
      'handler is about 0.4 MB',
      '220 ms cold init',
      'idle bill is $43',
    ]);
  });

  it('leaves marked figures and price tables alone', () => {
    const page = [
      '**<!-- figure:per-million-10 -->$11.49<!-- /figure --> per million messages**',
      '| API Gateway WebSocket | $1.00 per million messages |',
    ].join('\n');
    expect(unmarkedFigures(page)).toEqual([]);
  });
});
