/**
 * The figures docs quote (cost, sizes, timings) and their one source: the bench's latest results
 * (`bench/results/<newest>.json` and the `.md` report the bench wrote beside it) and `npm run cost`.
 * A doc quotes a figure inline as `<!-- figure:NAME -->value<!-- /figure -->` or a whole table as
 * `<!-- figures:NAME -->` … `<!-- /figures -->`; `npm run docs` fills them in, a test checks them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IdleCost } from '../infra/cost/idle-cost.js';
import { type Column, markdownTable } from './markdown.js';

/** Named figures: inline values and whole blocks, each as the docs show it. */
export type Figures = Map<string, string>;

const RESULTS = join(import.meta.dirname, '..', 'bench', 'results');

/** Path (from the root) of the bench's latest results, without the extension. */
export function latestBenchRun(results = RESULTS): string {
  const runs = readdirSync(results)
    .filter((name) => /^\d{4}-\d\d-\d\dT[\d-]+\.json$/.test(name))
    .sort();
  const latest = runs.at(-1);
  if (!latest) throw new Error(`no bench results in ${results}`);
  return `bench/results/${latest.replace(/\.json$/, '')}`;
}

/** The parts of a bench result the docs quote. */
interface BenchResult {
  readonly date: string;
  readonly bundles: readonly { bytes: number; gzipBytes: number; initMs: number }[];
  readonly cost: readonly { roomSize: number; messagesPerFrame: number; usdPerMillionMessages: number }[];
  readonly awsModel: readonly { cpuUsPerDelivery: number }[];
}

const usd = (value: number, digits = 2) =>
  `$${value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The bench's Markdown report re-laid as Biome formats Markdown (padded tables), unchanged otherwise. */
export function formatReport(report: string): string {
  return report
    .trim()
    .split(/\n\s*\n/)
    .map((chunk) => {
      const lines = chunk.trim().split('\n');
      if (!lines[0]!.startsWith('|')) return chunk.trim();
      const cells = (line: string) =>
        line
          .trim()
          .replace(/^\||\|$/g, '')
          .split('|')
          .map((cell) => cell.trim());
      const aligns = cells(lines[1]!);
      const columns: Column[] = cells(lines[0]!).map((header, i) => ({
        header,
        right: aligns[i]?.endsWith(':') ?? false,
      }));
      return markdownTable(columns, lines.slice(2).map(cells));
    })
    .join('\n\n');
}

/** Figures from one bench result and its report. */
export function benchFigures(run: string, root = join(import.meta.dirname, '..')): Figures {
  const result = JSON.parse(readFileSync(join(root, `${run}.json`), 'utf8')) as BenchResult;
  const report = formatReport(readFileSync(join(root, `${run}.md`), 'utf8'));
  const cost = (members: number, perFrame: number) => {
    const row = result.cost.find(
      (entry) => entry.roomSize === members && entry.messagesPerFrame === perFrame,
    );
    if (!row) throw new Error(`${run}.json has no cost for rooms of ${members} at ${perFrame} per frame`);
    return row.usdPerMillionMessages;
  };
  const chunks = report.split('\n\n');
  // A table by its first column headers.
  const table = (header: string) => {
    const wanted = header.split('|').map((cell) => cell.trim());
    const found = chunks.find((chunk) => {
      const cells = chunk
        .split('\n')[0]!
        .split('|')
        .map((cell) => cell.trim());
      return wanted.every((cell, i) => cells[i + 1] === cell);
    });
    if (!found) throw new Error(`${run}.md has no table starting with "${header}"`);
    return found;
  };
  const after = (header: string) => chunks[chunks.indexOf(table(header)) + 1] ?? '';
  return new Map([
    ['bench-run', `${result.date.slice(0, 10)} ${result.date.slice(11, 16)} UTC`],
    ['bench-file', `\`${run}.{json,md}\``],
    ['per-million-10', usd(cost(10, 1))],
    ['per-million-1000', usd(cost(1000, 1), 0)],
    ['per-million-10-batched', usd(cost(10, 10))],
    ['per-million-1000-batched', usd(cost(1000, 10), 0)],
    ['bundle-kb', `${Math.round(Math.max(...result.bundles.map((bundle) => bundle.bytes)) / 1000)} KB`],
    [
      'bundle-gzip-kb',
      `${Math.round(Math.max(...result.bundles.map((bundle) => bundle.gzipBytes)) / 1000)} KB`,
    ],
    ['cold-init-ms', `${Math.round(median(result.bundles.map((bundle) => bundle.initMs)))} ms`],
    ['model-cpu-us', `${result.awsModel[0]!.cpuUsPerDelivery.toFixed(1)} µs`],
    ['latest-run', report],
    ['systems', table('system')],
    ['aws-model', table('room members | slices')],
    [
      'per-million',
      `${table('room members | messages per frame')}\n\n${after('room members | messages per frame')}`,
    ],
  ]);
}

/** What each part of the idle bill is, as the cost page names it. */
const IDLE_PART_LABELS: Readonly<Record<string, string>> = {
  broker: 'broker (`mq.t3.micro` × 1 / `mq.m7g.large` × 3)',
  cache: 'cache (serverless Valkey, 100 MB minimum)',
  natGateways: 'NAT gateways',
  natInstances: 'NAT instance (`t4g.nano` + 8 GiB gp3)',
  publicIpv4: 'public IPv4 addresses',
  interfaceEndpoints: 'interface endpoints (Secrets Manager, 2 AZ)',
  secrets: 'secrets',
  alarms: 'alarms',
  dashboards: 'dashboard',
  logs: 'logs (assumed idle ingestion)',
};

/** Figures from `npm run cost` (the idle monthly cost of the synthesized profiles). */
export function idleFigures(costs: readonly IdleCost[], goals: Readonly<Record<string, number>>): Figures {
  const figures: Figures = new Map();
  for (const cost of costs) {
    figures.set(`idle-${cost.profile}`, usd(cost.usdPerMonth));
    const goal = goals[cost.profile];
    if (goal !== undefined) figures.set(`idle-${cost.profile}-margin`, usd(goal - cost.usdPerMonth));
  }
  const parts = Object.keys(costs[0]?.parts ?? {});
  figures.set(
    'idle-cost',
    markdownTable(
      [{ header: 'part (USD/month)' }, ...costs.map((cost) => ({ header: cost.profile, right: true }))],
      [
        ...parts.map((part) => [
          IDLE_PART_LABELS[part] ?? `\`${part}\``,
          ...costs.map((cost) => (cost.parts as Record<string, number>)[part]!.toFixed(2)),
        ]),
        ['**total**', ...costs.map((cost) => `**${cost.usdPerMonth.toFixed(2)}**`)],
      ],
    ),
  );
  return figures;
}

const INLINE = /<!-- figure:([a-z0-9-]+) -->(.*?)<!-- \/figure -->/g;
const BLOCK = /<!-- figures:([a-z0-9-]+) -->\n([\s\S]*?)\n?<!-- \/figures -->/g;

/** The names of the figures a doc quotes. */
export function quotedFigures(text: string): string[] {
  return [...text.matchAll(INLINE), ...text.matchAll(BLOCK)].map((match) => match[1]!);
}

/** The doc with every figure `figures` knows filled in; others are left as they are. */
export function fillFigures(text: string, figures: Figures): string {
  return text
    .replace(INLINE, (whole, name: string) =>
      figures.has(name) ? `<!-- figure:${name} -->${figures.get(name)}<!-- /figure -->` : whole,
    )
    .replace(BLOCK, (whole, name: string) =>
      figures.has(name) ? `<!-- figures:${name} -->\n\n${figures.get(name)}\n\n<!-- /figures -->` : whole,
    );
}

/**
 * Cost and size figures quoted without a marker (so no test checks them against the source): a
 * dollar amount per million messages, a handler bundle size, an idle monthly cost.
 */
export function unmarkedFigures(text: string): string[] {
  // Tables are price lists or generated blocks; prose is where a typed figure goes stale.
  const bare = text
    .replace(INLINE, 'FIGURE')
    .replace(BLOCK, '')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('|'))
    .join('\n');
  const patterns = [
    /\$[\d,.]+\**(?: and \**\$[\d,.]+\**)? per million (?:chat )?messages/g,
    /per million (?:chat )?messages: ≈? ?\$[\d,.]+/gi,
    /\b[\d,.]+ [KM]B (?:handler bundles?|per handler)/g,
    /handler (?:bundles? (?:is|are|of)|is)[^.|\n]{0,20}?\b[\d,.]+ ?[KM]B/g,
    /\b\d[\d,.]* ?ms (?:of )?cold (?:init|start)/g,
    /cold (?:init|start)[^.|\n]{0,30}?\b\d[\d,.]* ?ms/g,
    /idle[^.|\n]{0,40}\$\d[\d,.]*/g,
  ];
  return patterns.flatMap((pattern) => [...bare.matchAll(pattern)].map((match) => match[0]));
}
