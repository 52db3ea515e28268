/** The bench's profiles (smoke, default, full) and its command-line flags. */
import { join } from 'node:path';
import { AWS_MODEL_ASSUMPTIONS } from './aws-model.js';
import type { Workload } from './harness.js';
import { ROOT } from './services.js';

export interface Profile {
  name: 'smoke' | 'default' | 'full';
  workload: Workload;
  stepSeconds: number;
  /** Offered msg/s of the first ladder step; each next step doubles it. */
  ladderStart: number;
  ladderSteps: number;
  commonRate: number;
  runs: number;
  drainMs: number;
  p99BudgetMs: number;
  fanoutRooms: number[];
  fanoutConcurrency: number[];
  fanoutShards: number[];
  fanoutMessages: number;
  bundleRuns: number;
  bundles?: string[];
  writeMessages: number;
  /** The local check of the AWS model: a big room with API Gateway-like post latency. */
  bigRoom: {
    members: number;
    postLatencyMs: number;
    sliceSizes: number[];
    messages: number;
    /** Posts in flight to check with besides the default. */
    postsInFlight: number[];
    /** The runs under AWS's limits: posts a second below the room's size, a share of failed posts. */
    limits: { postRps: number; postFailRate: number; sliceSizes: number[] };
  };
}

/** Posts in flight the deployment runs with (`HIPOCHAT_FANOUT_CONCURRENCY`'s default). */
export const DEFAULT_CONCURRENCY = AWS_MODEL_ASSUMPTIONS.postsInFlight;

export const PROFILES: Record<Profile['name'], Profile> = {
  smoke: {
    name: 'smoke',
    workload: { rooms: 4, clientsPerRoom: 5, sendersPerRoom: 1, connectConcurrency: 10 },
    stepSeconds: 0.5,
    ladderStart: 20,
    ladderSteps: 2,
    commonRate: 20,
    runs: 1,
    drainMs: 2000,
    p99BudgetMs: 500,
    fanoutRooms: [100],
    fanoutConcurrency: [32],
    fanoutShards: [1],
    fanoutMessages: 3,
    bundleRuns: 1,
    bundles: ['fanout'],
    writeMessages: 30,
    bigRoom: {
      members: 200,
      postLatencyMs: 20,
      sliceSizes: [0, 100],
      messages: 1,
      postsInFlight: [],
      limits: { postRps: 100, postFailRate: 0.01, sliceSizes: [100] },
    },
  },
  default: {
    name: 'default',
    workload: { rooms: 50, clientsPerRoom: 20, sendersPerRoom: 2, connectConcurrency: 50 },
    stepSeconds: 1,
    ladderStart: 100,
    ladderSteps: 8,
    commonRate: 100,
    runs: 3,
    drainMs: 1000,
    p99BudgetMs: 250,
    fanoutRooms: [1000, 10_000],
    fanoutConcurrency: [32, 128, 256],
    fanoutShards: [1, 2],
    fanoutMessages: 3,
    bundleRuns: 3,
    writeMessages: 500,
    bigRoom: {
      members: 2000,
      postLatencyMs: 20,
      sliceSizes: [0, 1000, 500],
      messages: 3,
      postsInFlight: [32],
      limits: { postRps: 1000, postFailRate: 0.01, sliceSizes: [500] },
    },
  },
  full: {
    name: 'full',
    workload: { rooms: 100, clientsPerRoom: 20, sendersPerRoom: 4, connectConcurrency: 100 },
    stepSeconds: 3,
    ladderStart: 100,
    ladderSteps: 10,
    commonRate: 200,
    runs: 5,
    drainMs: 1500,
    p99BudgetMs: 250,
    fanoutRooms: [1000, 10_000],
    fanoutConcurrency: [8, 32, 128, 256, 512],
    fanoutShards: [1, 2, 4, 8],
    fanoutMessages: 10,
    bundleRuns: 9,
    writeMessages: 2000,
    bigRoom: {
      members: 2000,
      postLatencyMs: 20,
      sliceSizes: [0, 1000, 500, 250],
      messages: 5,
      postsInFlight: [32],
      limits: { postRps: 1000, postFailRate: 0.01, sliceSizes: [0, 250] },
    },
  },
};

export interface Flags {
  profile: Profile;
  out: string;
  systems: string[];
  probes: boolean;
}

export const SYSTEMS = ['project-redis-rabbitmq', 'project-memory', 'socketio-redis', 'raw-ws'];

export function parseFlags(argv: readonly string[]): Flags {
  let name: Profile['name'] = 'default';
  let out = join(ROOT, 'bench', 'results');
  let systems = SYSTEMS;
  let runs: number | undefined;
  let probes = true;
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === '--smoke') name = 'smoke';
    else if (flag === '--full') name = 'full';
    else if (flag === '--out') out = argv[++i] ?? out;
    else if (flag === '--runs') runs = Number(argv[++i]);
    else if (flag === '--systems') systems = (argv[++i] ?? '').split(',').filter((s) => SYSTEMS.includes(s));
    else if (flag === '--no-probes') probes = false;
    else if (flag === '--help') {
      process.stdout.write(
        'npm run bench -- [--smoke|--full] [--out DIR] [--runs N] [--systems a,b] [--no-probes]\n' +
          `systems: ${SYSTEMS.join(', ')}\n`,
      );
      process.exit(0);
    }
  }
  const profile = { ...PROFILES[name] };
  if (runs && runs >= 1 && runs <= 15) profile.runs = Math.floor(runs);
  return { profile, out, systems, probes };
}
