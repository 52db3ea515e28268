/**
 * What following many rooms on one connection costs and saves, computed from the price list and
 * the fan-out's measured CPU (no run of its own): the live unread frames a message causes, and a
 * user's sidebar of rooms on one connection against one connection per room.
 */
import { AWS_PRICES, DEPLOYMENT } from './aws-prices.js';

/** Assumptions of the rows below, stated beside the table. */
export const ROOMS_COST_ASSUMPTIONS = {
  /** Redis round trip from Lambda in the same AZ, ms (the fan-out waits on it; Lambda bills the wait). */
  redisRoundTripMs: 0.5,
  /** Authorizer run: the profile endpoint answered from the cache, ms at 512 MB. */
  authorizerMs: 20,
  /** `$connect` (or a `subscribe` frame's `$default`): one room's connect script and a presence publish, ms at 512 MB. */
  connectMs: 10,
  /** Hours a user keeps the app open, per user and month (for the sidebar rows). */
  hoursOpenPerMonth: 40,
} as const;

/** The extra cost of live unread counts per message. */
export interface UnreadCost {
  roomSize: number;
  /** Unread frames a message causes: every other member with one `unread=1` connection elsewhere. */
  framesPerMessage: number;
  /** Redis round trips the fan-out makes for them: the room's watchers, then each watcher's connections and record. */
  redisRoundTripsPerMessage: number;
  usdPerMillionMessages: number;
  parts: { fanoutLambda: number; apiGatewayOutbound: number };
}

/**
 * Live unread counts for a message in a room of `roomSize` members, each with one `unread=1`
 * connection that does not follow the room: one frame per member but the sender, at worst one
 * message per fan-out batch (a busy room shares one count per batch). `fanoutMsPerDelivery` is the
 * fan-out's CPU per post (measured).
 */
export function unreadCost(roomSize: number, fanoutMsPerDelivery: number): UnreadCost {
  const a = ROOMS_COST_ASSUMPTIONS;
  const p = AWS_PRICES;
  const million = 1e6;
  const frames = roomSize - 1;
  // One script for the room's watchers, then per watcher its watching connections and their records.
  const redisRoundTrips = 1 + 2 * frames;
  // Watchers go concurrently: three round trips of wait, plus the posts' CPU.
  const fanoutMs = 3 * a.redisRoundTripMs + frames * fanoutMsPerDelivery;
  const fanoutLambda =
    ((million * fanoutMs) / 1000) * (DEPLOYMENT.fanoutFunctionMb / 1024) * p.lambda.armGbSecond;
  const apiGatewayOutbound = million * frames * p.apiGatewayWebSocket.message;
  return {
    roomSize,
    framesPerMessage: frames,
    redisRoundTripsPerMessage: redisRoundTrips,
    usdPerMillionMessages: fanoutLambda + apiGatewayOutbound,
    parts: { fanoutLambda, apiGatewayOutbound },
  };
}

/** A user's month with `rooms` rooms open: one connection per room, or one for all. */
export interface SidebarCost {
  rooms: number;
  connections: number;
  connectionMinutes: number;
  authorizerRuns: number;
  /** `$connect` runs plus `subscribe` frames (each one `$default` run and one inbound message). */
  roomJoins: number;
  usdPerMillionUsers: number;
}

/**
 * A user with `rooms` rooms open for {@link ROOMS_COST_ASSUMPTIONS}'s hours a month, reconnecting
 * every 2 hours (API Gateway's connection life): `rooms` connections, or one that names them all
 * in `?rooms=` (`subscribe` frames cost the same as a room in `?rooms=`: one `$default` run each).
 */
export function sidebarCost(rooms: number, oneConnection: boolean): SidebarCost {
  const a = ROOMS_COST_ASSUMPTIONS;
  const p = AWS_PRICES;
  const million = 1e6;
  const connections = oneConnection ? 1 : rooms;
  const connects = connections * Math.ceil(a.hoursOpenPerMonth / 2);
  const connectionMinutes = connections * a.hoursOpenPerMonth * 60;
  const lambda = (runs: number, ms: number) =>
    runs * (p.lambda.request + (ms / 1000) * (DEPLOYMENT.messageFunctionMb / 1024) * p.lambda.armGbSecond);
  // Each connect joins its rooms: one per connection, or all of them on the one connection.
  const roomJoins = Math.ceil(a.hoursOpenPerMonth / 2) * rooms;
  const perUser =
    connectionMinutes * p.apiGatewayWebSocket.connectionMinute +
    lambda(connects, a.authorizerMs) +
    lambda(roomJoins, a.connectMs);
  return {
    rooms,
    connections,
    connectionMinutes,
    authorizerRuns: connects,
    roomJoins,
    usdPerMillionUsers: million * perUser,
  };
}

/** The markdown rows of both, for the bench report. */
export function roomsCostMarkdown(fanoutMsPerDelivery: number): string[] {
  const a = ROOMS_COST_ASSUMPTIONS;
  const unread = unreadCost(10, fanoutMsPerDelivery);
  const sidebar = [sidebarCost(10, false), sidebarCost(10, true)];
  const usd = (value: number) => value.toFixed(2);
  return [
    '| live unread counts (`unread=1`) | unread frames / message | Redis round trips / message | est. USD per million messages | fan-out Lambda | API GW out |',
    '|---|---:|---:|---:|---:|---:|',
    `| room of ${unread.roomSize}, every member with an \`unread=1\` connection elsewhere | ${unread.framesPerMessage} | ${unread.redisRoundTripsPerMessage} | ${usd(unread.usdPerMillionMessages)} | ${usd(unread.parts.fanoutLambda)} | ${usd(unread.parts.apiGatewayOutbound)} |`,
    '',
    '| a user with 10 rooms open | connections | connection minutes / month | authorizer runs / month | room joins / month | est. USD per million users / month |',
    '|---|---:|---:|---:|---:|---:|',
    ...sidebar.map(
      (s) =>
        `| ${s.connections === 1 ? 'one connection (`?rooms=`)' : 'one connection per room'} | ${s.connections} | ${s.connectionMinutes.toLocaleString('en-US')} | ${s.authorizerRuns} | ${s.roomJoins} | ${usd(s.usdPerMillionUsers)} |`,
    ),
    '',
    `Computed from the price list and the fan-out's measured CPU per post, not measured on AWS: unread counts at one message per fan-out batch (a busy room sends one count per batch), Redis round trip ${a.redisRoundTripMs} ms; sidebar: ${a.hoursOpenPerMonth} h open a month, a reconnect every 2 h (API Gateway's connection life), authorizer ${a.authorizerMs} ms and a room join ${a.connectMs} ms at ${DEPLOYMENT.messageFunctionMb} MB.`,
  ];
}
