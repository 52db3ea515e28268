import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

interface BenchJson {
  systems: {
    row: { system: string; lost: number; duplicated: number; misrouted: number; p99: number };
    commonRuns: { sent: number }[];
  }[];
  writePath?: { amqpPublishesPerMessage: number; redisRequestsPerMessage: number };
  fanout: { failed: number; cpuUsPerDelivery: number }[];
  bundles: { bytes: number }[];
  awsModel: { members: number; slices: number; cpuUsPerDelivery: number; lastDeliveryMs: number }[];
  awsModelThrottled: { members: number; messages: number; requeuedPosts: number }[];
  localCheck: {
    runs: { slices: number; missing: number; duplicates: number; postRps: number; lastDeliveryMs: number }[];
  };
  signalsCost: { members: number; signals: boolean; load: { signalFramesPerConnectionPerMessage: number } }[];
  signalsCostRatio: { at10: number; at1000: number; goal: number };
}

function runBench(out: string): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn('npm', ['run', 'bench', '--', '--smoke', '--out', out], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

describe('npm run bench -- --smoke', () => {
  let out: string;
  let result: { code: number | null; output: string };
  let json: BenchJson;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'hipochat-bench-'));
    result = await runBench(out);
    const file = readdirSync(out).find((name) => name.endsWith('.json'));
    json = file ? (JSON.parse(readFileSync(join(out, file), 'utf8')) as BenchJson) : ({} as BenchJson);
  }, 180_000);

  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('completes and writes the JSON, the Markdown table and the chart to --out', () => {
    expect({ code: result.code, tail: result.output.slice(-2000) }).toMatchObject({ code: 0 });
    const files = readdirSync(out);
    expect(files.filter((f) => f.endsWith('.json'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.md'))).toHaveLength(1);
    expect(existsSync(join(out, 'latest.svg'))).toBe(true);
    expect(readFileSync(join(out, 'latest.svg'), 'utf8')).toContain('<svg');
  });

  it('measures all four systems with no lost, duplicated or misrouted delivery', () => {
    expect(json.systems.map((s) => s.row.system)).toEqual([
      'Hipochat (Redis + RabbitMQ)',
      'Hipochat (in-memory)',
      'Socket.IO + Redis adapter (2 procs)',
      'raw ws broadcast',
    ]);
    for (const { row, commonRuns } of json.systems) {
      expect({
        system: row.system,
        lost: row.lost,
        duplicated: row.duplicated,
        misrouted: row.misrouted,
      }).toEqual({ system: row.system, lost: 0, duplicated: 0, misrouted: 0 });
      expect(commonRuns[0]!.sent).toBeGreaterThan(0);
      expect(row.p99).toBeGreaterThan(0);
    }
  });

  it('reports the project-only figures: one round trip and one publish per message, fan-out without failures', () => {
    expect(json.writePath).toMatchObject({ amqpPublishesPerMessage: 1, redisRequestsPerMessage: 1 });
    expect(json.fanout.length).toBeGreaterThan(0);
    for (const figure of json.fanout) {
      expect(figure.failed).toBe(0);
      expect(figure.cpuUsPerDelivery).toBeGreaterThan(0);
    }
    expect(json.bundles[0]!.bytes).toBeGreaterThan(0);
  });

  it('models big rooms on AWS from the CPU it measured, at the account throttle too, and checks the slices locally with every delivery made once', () => {
    expect(json.awsModel.map((row) => [row.members, row.slices])).toEqual([
      [20, 1],
      [1000, 1],
      [10_000, 10],
      [100_000, 100],
    ]);
    for (const row of json.awsModel) expect(row.cpuUsPerDelivery).toBe(json.fanout[0]!.cpuUsPerDelivery);
    // Without slices, in slices, and in slices under a post throttle below the room's size a second.
    expect(json.localCheck.runs.map((run) => [run.slices, run.postRps])).toEqual([
      [1, 0],
      [2, 0],
      [2, 100],
    ]);
    for (const run of json.localCheck.runs) {
      expect(run.missing).toBe(0);
      expect(run.duplicates).toBe(0);
      expect(run.lastDeliveryMs).toBeGreaterThan(0);
    }
    expect(json.awsModelThrottled.map((row) => [row.members, row.messages])).toEqual([
      [10_000, 1],
      [10_000, 10],
      [100_000, 1],
      [100_000, 5],
    ]);
  });

  it('prices signals on and off for 10 and 1,000 members from a measured run, within the goal at 1,000', () => {
    expect(json.signalsCost.map((row) => [row.members, row.signals])).toEqual([
      [10, true],
      [10, false],
      [1000, true],
      [1000, false],
    ]);
    // Signals reached the small room, and none the room above the member cap.
    expect(json.signalsCost[0]!.load.signalFramesPerConnectionPerMessage).toBeGreaterThan(0);
    expect(json.signalsCost[2]!.load.signalFramesPerConnectionPerMessage).toBe(0);
    expect(json.signalsCostRatio.at1000).toBeLessThanOrEqual(json.signalsCostRatio.goal);
  });
});
