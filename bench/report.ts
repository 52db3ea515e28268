/** The bench's outputs: the Markdown table and the SVG chart. */

/** One system's row of the comparison. */
export interface SystemRow {
  system: string;
  /** Deliveries per second at the highest offered rate sustained without backlog (median). */
  deliveriesPerSecond: number;
  /** Offered messages per second at that rate. */
  sustainedRate: number;
  p50: number;
  p95: number;
  p99: number;
  lost: number;
  duplicated: number;
  misrouted: number;
  /** Server CPU µs per delivered message (server processes only). */
  cpuUsPerDelivery: number;
  /** CPU µs per delivery of the backing services (Redis, RabbitMQ) measured alongside. */
  serviceCpuUsPerDelivery: number;
  peakRssMb: number;
}

const fmt = (value: number, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';

/** The comparison table, ratios against Socket.IO and raw ws when those rows exist. */
export function markdownTable(
  rows: readonly SystemRow[],
  commonRate: number,
  clientsPerRoom: number,
): string {
  const sio = rows.find((r) => r.system.startsWith('Socket.IO'));
  const ws = rows.find((r) => r.system.startsWith('raw ws'));
  const ratio = (value: number, base?: SystemRow) =>
    base && base.deliveriesPerSecond > 0 ? `${fmt(value / base.deliveriesPerSecond, 2)}×` : 'n/a';
  const lines = [
    `| system | deliveries/s sustained (msg/s offered) | p50 / p95 / p99 ms at ${fmt(commonRate)} msg/s (${fmt(commonRate * clientsPerRoom)} deliveries/s) | lost | dup | server CPU µs / delivery | services CPU µs / delivery | peak RSS MB | vs Socket.IO | vs raw ws |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.system} | ${fmt(r.deliveriesPerSecond)} (${fmt(r.sustainedRate)}) | ${fmt(r.p50, 1)} / ${fmt(r.p95, 1)} / ${fmt(r.p99, 1)} | ${r.lost} | ${r.duplicated} | ${fmt(r.cpuUsPerDelivery, 1)} | ${fmt(r.serviceCpuUsPerDelivery, 1)} | ${fmt(r.peakRssMb)} | ${ratio(r.deliveriesPerSecond, sio)} | ${ratio(r.deliveriesPerSecond, ws)} |`,
    );
  }
  return lines.join('\n');
}

const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Two horizontal bar charts side by side: sustained deliveries/s and p99 at the common rate. */
export function svgChart(rows: readonly SystemRow[], caption: string): string {
  const width = 900;
  const barHeight = 26;
  const top = 56;
  const labelWidth = 230;
  const panel = (width - labelWidth - 40) / 2;
  const height = top + rows.length * (barHeight + 10) + 40;
  const maxThroughput = Math.max(1, ...rows.map((r) => r.deliveriesPerSecond));
  const maxP99 = Math.max(1, ...rows.map((r) => (Number.isFinite(r.p99) ? r.p99 : 0)));
  const colors = ['#2563eb', '#60a5fa', '#f59e0b', '#10b981', '#8b5cf6'];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${labelWidth}" y="22" font-size="14" font-weight="bold">Deliveries/s sustained (higher is better)</text>`,
    `<text x="${labelWidth + panel + 20}" y="22" font-size="14" font-weight="bold">p99 ms at the common rate (lower is better)</text>`,
    `<text x="10" y="${height - 12}" fill="#555">${xmlEscape(caption)}</text>`,
  ];
  rows.forEach((r, i) => {
    const y = top + i * (barHeight + 10);
    const color = colors[i % colors.length];
    const w1 = (r.deliveriesPerSecond / maxThroughput) * (panel - 70);
    const p99 = Number.isFinite(r.p99) ? r.p99 : 0;
    const w2 = (p99 / maxP99) * (panel - 70);
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${xmlEscape(r.system)}</text>`,
      `<rect x="${labelWidth}" y="${y}" width="${w1.toFixed(1)}" height="${barHeight}" fill="${color}"/>`,
      `<text x="${(labelWidth + w1 + 4).toFixed(1)}" y="${y + 17}">${fmt(r.deliveriesPerSecond)}</text>`,
      `<rect x="${labelWidth + panel + 20}" y="${y}" width="${w2.toFixed(1)}" height="${barHeight}" fill="${color}" opacity="0.75"/>`,
      `<text x="${(labelWidth + panel + 24 + w2).toFixed(1)}" y="${y + 17}">${fmt(r.p99, 1)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
