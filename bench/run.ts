/**
 * `npm run bench [-- --smoke | --full] [--out DIR] [--runs N] [--systems a,b]`: this project
 * (local gateway, real Redis + RabbitMQ, and in-memory), Socket.IO + Redis adapter (two
 * processes) and a raw `ws` broadcast server, measured in one run with one client harness; then
 * this project's per-delivery and per-message costs. Traffic stays on 127.0.0.1; every loop is
 * bounded in count and time.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { idleCostOfProfiles } from '../infra/cost/profiles.js';
import { AWS_MODEL_ASSUMPTIONS, awsModel, throttledModel } from './aws-model.js';
import { AWS_PRICES, DEPLOYMENT } from './aws-prices.js';
import { type LocalCheck, localBigRoomCheck } from './big-room.js';
import { type BundleFigure, measureBundles } from './bundles.js';
import { estimateCost } from './cost-estimate.js';
import { projectClient, socketIoClient, wsClient } from './harness.js';
import {
  type FanoutFigure,
  fanoutProbes,
  gatewayEnv,
  log,
  measuredCpu,
  measureSignalsLocally,
  measureSystem,
  runProbe,
  type SystemResult,
  type SystemUnderTest,
} from './measurements.js';
import type { WriteReportLine } from './probe.js';
import { DEFAULT_CONCURRENCY, parseFlags } from './profiles.js';
import { markdownTable, svgChart } from './report.js';
import { awsModelMarkdown, localCheckMarkdown, throttledMarkdown } from './report-tables.js';
import { roomsCostMarkdown } from './rooms-cost.js';
import {
  pidsNamed,
  privateVhost,
  type Started,
  startPrivateRedis,
  startProcess,
  tsxCommand,
} from './services.js';
import { SIGNALS_COST_GOAL, signalsCostRows, signalsMarkdown, signalsRatio } from './signals-cost.js';
import type { SignalsRun } from './signals-run.js';

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const { profile } = flags;
  const started = Date.now();
  log(
    `profile ${profile.name}: ${profile.workload.rooms} rooms × ${profile.workload.clientsPerRoom} sockets, ${profile.runs} run(s) per figure`,
  );
  const privateRedis = await startPrivateRedis();
  const redisUrl = privateRedis?.url ?? process.env.HIPOCHAT_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
  const vhost = await privateVhost(
    process.env.HIPOCHAT_BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  );
  const redisPids = privateRedis ? [privateRedis.pid] : [];
  const results: SystemResult[] = [];
  let fanout: FanoutFigure[] = [];
  let writePath: WriteReportLine | undefined;
  let bundles: BundleFigure[] = [];
  let localCheck: LocalCheck | undefined;
  let signalsRun: SignalsRun | undefined;
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0)) await stop().catch(() => {});
  };
  try {
    const starters: Record<string, () => Promise<SystemUnderTest>> = {
      'project-redis-rabbitmq': async () => {
        const gw = await startProcess(
          tsxCommand('local/main.ts'),
          gatewayEnv({ HIPOCHAT_REDIS_URL: redisUrl, HIPOCHAT_AMQP_URL: vhost.url }),
        );
        return {
          label: 'Hipochat (Redis + RabbitMQ)',
          client: projectClient(gw.url.replace('http', 'ws')),
          serverPids: [gw.pid],
          servicePids: [...redisPids, ...pidsNamed('beam.smp')],
          stop: gw.stop,
        };
      },
      'project-memory': async () => {
        const gw = await startProcess(tsxCommand('local/main.ts'), gatewayEnv({}));
        return {
          label: 'Hipochat (in-memory)',
          client: projectClient(gw.url.replace('http', 'ws')),
          serverPids: [gw.pid],
          servicePids: [],
          stop: gw.stop,
        };
      },
      'socketio-redis': async () => {
        const servers: Started[] = await Promise.all(
          [0, 1].map(() =>
            startProcess(tsxCommand('bench/peers/socketio-server.ts'), { REDIS_URL: redisUrl }),
          ),
        );
        return {
          label: 'Socket.IO + Redis adapter (2 procs)',
          client: socketIoClient(servers.map((s) => s.url)),
          serverPids: servers.map((s) => s.pid),
          servicePids: redisPids,
          stop: async () => {
            await Promise.all(servers.map((s) => s.stop()));
          },
        };
      },
      'raw-ws': async () => {
        const server = await startProcess(tsxCommand('bench/peers/ws-broadcast.ts'), {});
        return {
          label: 'raw ws broadcast',
          client: wsClient(server.url.replace('http', 'ws')),
          serverPids: [server.pid],
          servicePids: [],
          stop: server.stop,
        };
      },
    };
    for (const name of flags.systems) {
      log(`${name}: starting`);
      const sut = await starters[name]!();
      stops.push(sut.stop);
      const result = await measureSystem(sut, profile);
      results.push(result);
      await stopAll();
      const r = result.row;
      log(
        `${name}: ${Math.round(r.deliveriesPerSecond)} deliveries/s, p99 ${r.p99.toFixed(1)} ms, lost ${r.lost}, dup ${r.duplicated}`,
      );
    }
    if (flags.probes) {
      log('write path: Redis commands and AMQP publishes per message');
      writePath = await runProbe<WriteReportLine>({
        mode: 'write',
        redisUrl,
        amqpUrl: vhost.url,
        room: `write-${process.pid}`,
        members: profile.workload.clientsPerRoom,
        messages: profile.writeMessages,
      });
      log('fan-out handler: CPU per delivery, room sizes, concurrency, shards');
      fanout = await fanoutProbes(profile, redisUrl);
      log('big room: last delivery with API Gateway-like post latency, without and with slices');
      localCheck = await localBigRoomCheck({
        ...profile.bigRoom,
        postsInFlight: [...profile.bigRoom.postsInFlight, DEFAULT_CONCURRENCY],
        env: gatewayEnv({ POWERTOOLS_METRICS_DISABLED: 'true' }),
        log,
      });
      log('signals: frames and read marks per member and message, measured');
      signalsRun = await measureSignalsLocally(log);
      log('bundles: size and cold init');
      bundles = await measureBundles(profile.bundleRuns, profile.bundles);
    }
  } finally {
    await stopAll();
    await vhost.remove();
    await privateRedis?.stop();
  }

  const rows = results.map((r) => r.row);
  const base = fanout.find((f) => f.sender === 'lean' && f.concurrency === 32 && f.shards === 1);
  const cost =
    writePath && base
      ? [1, DEPLOYMENT.messagesPerFanoutBatch].flatMap((perFrame) =>
          [10, 1000].map((size) =>
            estimateCost(size, writePath!.wallMsPerMessage, base.cpuUsPerDelivery / 1000, perFrame),
          ),
        )
      : [];
  const signalsCost =
    writePath && base && signalsRun
      ? signalsCostRows(signalsRun, writePath.wallMsPerMessage, base.cpuUsPerDelivery / 1000)
      : [];
  const measured = measuredCpu(fanout);
  const model = measured ? awsModel(measured) : [];
  const sensitivity = measured ? [10, 40].flatMap((latency) => awsModel(measured, latency)) : [];
  const throttled = measured ? throttledModel(measured) : [];
  const date = new Date().toISOString();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GB, node ${process.version}`;
  const command = `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const table = markdownTable(rows, profile.commonRate, profile.workload.clientsPerRoom);
  const extra: string[] = [];
  if (writePath) {
    extra.push(
      '',
      `Write path per sent message: ${writePath.redisRequestsPerMessage.toFixed(2)} Redis round trips, ${writePath.redisCommandsPerMessage.toFixed(1)} Redis commands executed (incl. inside the script), ${writePath.amqpPublishesPerMessage.toFixed(2)} confirmed AMQP publishes, ${writePath.cpuUsPerMessage.toFixed(0)} µs CPU, ${writePath.wallMsPerMessage.toFixed(2)} ms.`,
    );
  }
  if (fanout.length) {
    extra.push(
      '',
      '| fan-out room | sender | concurrency | shards | CPU µs / delivery | ms per message | deliveries/s | Redis requests / batch | Redis commands / batch |',
      '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
      ...fanout.map(
        (f) =>
          `| ${f.roomSize} | ${f.sender} | ${f.concurrency} | ${f.shards} | ${f.cpuUsPerDelivery.toFixed(1)} | ${f.wallMsPerMessage.toFixed(1)} | ${Math.round(f.deliveriesPerSecond)} | ${f.redisRequestsPerBatch.toFixed(1)} | ${f.redisCommandsPerBatch.toFixed(1)} |`,
      ),
    );
  }
  if (bundles.length) {
    extra.push(
      '',
      '| handler bundle | bytes | gzip bytes | cold init ms (median) |',
      '|---|---:|---:|---:|',
      ...bundles.map(
        (b) => `| ${b.name} | ${b.bytes} | ${b.gzipBytes} | ${b.initMs.toFixed(1)} (${b.initRuns} runs) |`,
      ),
    );
  }
  if (cost.length) {
    extra.push(
      '',
      '| room members | messages per frame | est. USD per million messages | message Lambda | fan-out Lambda | API GW in | API GW out | connection minutes |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...cost.map(
        (c) =>
          `| ${c.roomSize} | ${c.messagesPerFrame === 1 ? '1' : `${c.messagesPerFrame} (batch frames, busy room)`} | ${c.usdPerMillionMessages.toFixed(2)} | ${c.parts.messageLambda!.toFixed(2)} | ${c.parts.fanoutLambda!.toFixed(2)} | ${c.parts.apiGatewayInbound!.toFixed(2)} | ${c.parts.apiGatewayOutbound!.toFixed(2)} | ${c.parts.apiGatewayConnectionMinutes!.toFixed(2)} |`,
      ),
      '',
      `Assumptions: ${cost[0]!.assumptions}.`,
      '',
      ...roomsCostMarkdown(base!.cpuUsPerDelivery / 1000),
    );
  }
  if (signalsCost.length) extra.push('', ...signalsMarkdown(signalsCost, signalsRun!));
  if (model.length) extra.push('', ...awsModelMarkdown(model, sensitivity, measured!));
  if (throttled.length) extra.push('', ...throttledMarkdown(throttled));
  if (localCheck) extra.push('', ...localCheckMarkdown(localCheck));
  const header = `Bench ${profile.name}, ${date}, ${machine}; command: \`${command}\`; ${profile.workload.rooms} rooms × ${profile.workload.clientsPerRoom} sockets, ${profile.workload.sendersPerRoom} senders per room, ${profile.stepSeconds} s steps, median of ${profile.runs} run(s).`;
  const markdown = `${header}\n\n${table}\n${extra.join('\n')}\n`;
  mkdirSync(flags.out, { recursive: true });
  const stamp = date.slice(0, 19).replace(/:/g, '-');
  const json = {
    date,
    machine,
    command,
    profile,
    durationSeconds: (Date.now() - started) / 1000,
    systems: results,
    writePath,
    fanout,
    bundles,
    cost,
    awsModel: model,
    awsModelSensitivity: sensitivity,
    awsModelThrottled: throttled,
    awsModelAssumptions: { ...AWS_MODEL_ASSUMPTIONS, measured },
    localCheck,
    signalsRun,
    signalsCost,
    signalsCostRatio: signalsCost.length
      ? {
          at10: signalsRatio(signalsCost, 10),
          at1000: signalsRatio(signalsCost, 1000),
          goal: SIGNALS_COST_GOAL,
        }
      : undefined,
    prices: AWS_PRICES,
    deployment: DEPLOYMENT,
    // Computed from the synthesized dev and prod templates (npm run cost).
    idleCost: idleCostOfProfiles(),
  };
  writeFileSync(join(flags.out, `${stamp}.json`), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(flags.out, `${stamp}.md`), markdown);
  // A probes-only run (`--systems ''`) leaves the chart of the last comparison alone.
  if (rows.length > 0) {
    writeFileSync(
      join(flags.out, 'latest.svg'),
      svgChart(
        rows,
        `${date.slice(0, 10)} · ${machine} · ${command} · ${profile.workload.rooms}×${profile.workload.clientsPerRoom} sockets`,
      ),
    );
  }
  process.stdout.write(
    `${markdown}\nwritten: ${join(flags.out, `${stamp}.{json,md}`)}${rows.length > 0 ? `, ${join(flags.out, 'latest.svg')}` : ''}\n`,
  );
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const watchdog = setTimeout(() => {
  log('watchdog: the bench ran over 15 minutes; exiting');
  process.exit(2);
}, 15 * 60_000);
watchdog.unref();

main()
  .then(() => process.exit(0))
  .catch((error: unknown) => {
    log(`failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  });
