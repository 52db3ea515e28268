/**
 * The cost of live signals per million messages, from the frames and read marks the signals run
 * measured per member and message (bench/signals-run.ts), for rooms of 10 and 1,000 members with
 * signals on and off. Read marks are the room's read state: clients make them with or without
 * signals, so both rows count them.
 */
import { AWS_PRICES, DEPLOYMENT } from './aws-prices.js';
import type { SignalsLoad, SignalsRun } from './signals-run.js';

/** One row: a room size, signals on or off, and what a million messages cost there. */
export interface SignalsCostRow {
  members: number;
  signals: boolean;
  load: SignalsLoad;
  usdPerMillionMessages: number;
  parts: Record<string, number>;
}

/** The goal: signals on costs at most this much more than off in a room of 1,000 members. */
export const SIGNALS_COST_GOAL = 1.5;

/**
 * A million messages into a room of `members`, each member as measured in `load`.
 * @param messageHandlerMs wall time of one `$default` (or `/talk/old`) invocation
 * @param fanoutMsPerDelivery fan-out CPU per posted frame
 */
export function signalsCost(
  load: SignalsLoad,
  members: number,
  messageHandlerMs: number,
  fanoutMsPerDelivery: number,
): SignalsCostRow {
  const p = AWS_PRICES;
  const d = DEPLOYMENT;
  const million = 1e6;
  const invocation = (mb: number, ms: number) =>
    p.lambda.request + (ms / 1000) * (mb / 1024) * p.lambda.armGbSecond;
  // The message itself and the frames sent with it (typing) each run the `$default` function.
  const inboundFrames = million * (1 + load.inboundPerMessage);
  const outboundFrames = million * members * load.framesPerConnectionPerMessage;
  const marks = million * members * load.marksPerMemberPerMessage;
  const parts = {
    messageLambda: inboundFrames * invocation(d.messageFunctionMb, messageHandlerMs),
    fanoutLambda:
      (million / d.messagesPerFanoutBatch) * p.lambda.request +
      ((outboundFrames * fanoutMsPerDelivery) / 1000) * (d.fanoutFunctionMb / 1024) * p.lambda.armGbSecond,
    apiGatewayInbound: inboundFrames * p.apiGatewayWebSocket.message,
    apiGatewayOutbound: outboundFrames * p.apiGatewayWebSocket.message,
    apiGatewayConnectionMinutes:
      (million / d.roomMessagesPerMinute) * members * p.apiGatewayWebSocket.connectionMinute,
    readMarks: marks * (p.apiGatewayHttp.request + invocation(d.messageFunctionMb, messageHandlerMs)),
  };
  return {
    members,
    signals: load.signals,
    load,
    usdPerMillionMessages: Object.values(parts).reduce((a, b) => a + b, 0),
    parts,
  };
}

/** The four rows: 10 and 1,000 members, signals on and off. */
export function signalsCostRows(
  run: SignalsRun,
  messageHandlerMs: number,
  fanoutMsPerDelivery: number,
): SignalsCostRow[] {
  const row = (load: SignalsLoad, members: number) =>
    signalsCost(load, members, messageHandlerMs, fanoutMsPerDelivery);
  return [
    row(run.small.on, 10),
    row(run.small.off, 10),
    // Above the member cap: measured in a room of 1,000 members.
    row(run.capped.on, 1000),
    // Without signals a member's frames do not depend on the room's size.
    row(run.small.off, 1000),
  ];
}

/** Signals on over off at `members`. */
export function signalsRatio(rows: readonly SignalsCostRow[], members: number): number {
  const on = rows.find((r) => r.members === members && r.signals);
  const off = rows.find((r) => r.members === members && !r.signals);
  return on && off ? on.usdPerMillionMessages / off.usdPerMillionMessages : Number.NaN;
}

/** The Markdown table of the rows and the ratio against the goal. */
export function signalsMarkdown(rows: readonly SignalsCostRow[], run: SignalsRun): string[] {
  const ratio1000 = signalsRatio(rows, 1000);
  return [
    '| room members | signals | frames / member / message (signal frames) | read marks / member / message | est. USD per million messages | API GW out | read marks (HTTP API + Lambda) |',
    '|---:|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.members} | ${r.signals ? 'on' : 'off'} | ${r.load.framesPerConnectionPerMessage.toFixed(2)} (${r.load.signalFramesPerConnectionPerMessage.toFixed(2)}) | ${r.load.marksPerMemberPerMessage.toFixed(2)} | ${r.usdPerMillionMessages.toFixed(2)} | ${r.parts.apiGatewayOutbound!.toFixed(2)} | ${r.parts.readMarks!.toFixed(2)} |`,
    ),
    '',
    `Signals on / off: ${signalsRatio(rows, 10).toFixed(2)}× at 10 members, ${ratio1000.toFixed(2)}× at 1,000 (goal ≤ ${SIGNALS_COST_GOAL}×). ` +
      `Measured on the local gateway: ${run.small.on.online} members reading every message as the demo page does (signals on, a mark per live message of others at most once per 2 s), ` +
      `one typing frame before each message, ${DEPLOYMENT.roomMessagesPerMinute} messages per room-minute, read digests every 2 s, the clock run ${run.scale}× faster; ` +
      `the 1,000-member room is above HIPOCHAT_SIGNALS_MAX_MEMBERS (100), so its members get no live signals. Presence (a join and a leave per session) is left out: a few frames per member-hour.`,
  ];
}
