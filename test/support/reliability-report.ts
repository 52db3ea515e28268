import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const ROWS = join(ROOT, 'test-results', 'reliability');
const REPORT = join(ROOT, 'docs', 'reliability.md');

/** One row of the reliability table. */
export interface ScenarioRow {
  /** Orders the table (the issue's order). */
  order: number;
  scenario: string;
  injected: string;
  sent: number;
  acknowledged: number;
  /** Distinct acknowledged messages received, summed over the live sockets. */
  delivered: number;
  /** Extra copies of an already received id, dropped by client-side dedupe. */
  duplicated: number;
  /** Acknowledged messages some live socket never received, plus duplicates left in history. */
  lost: number;
  result: string;
}

/**
 * Records a scenario's row under `test-results/reliability/` and re-renders `docs/reliability.md`
 * from every recorded row, so whichever fault test finishes last writes the complete table.
 */
export function recordScenario(row: ScenarioRow): void {
  mkdirSync(ROWS, { recursive: true });
  const slug = row.scenario.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  writeFileSync(join(ROWS, `${String(row.order).padStart(2, '0')}-${slug}.json`), `${JSON.stringify(row)}\n`);
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  writeFileSync(REPORT, renderReport(readRows()));
}

function readRows(): ScenarioRow[] {
  return readdirSync(ROWS)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(ROWS, name), 'utf8')) as ScenarioRow);
}

const cell = (value: string | number) => String(value).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A Markdown table padded the way Biome formats one (`docs/` is checked by `biome check`). */
function markdownTable(header: string[], rows: string[][], rightAligned: ReadonlySet<number>): string[] {
  const widths = header.map((title, i) => Math.max(3, title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((text, i) => (rightAligned.has(i) ? text.padStart(widths[i]!) : text.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((width, i) => (rightAligned.has(i) ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)];
}

/**
 * The security table: one row per attack of the hardening review, what it does now and the test
 * that holds it (fixed text, not measured; append a row with the test that proves it).
 */
export const SECURITY_ROWS: readonly [attack: string, result: string, test: string][] = [
  [
    'Profile endpoint answers credentials and personal data (`accessToken`, `apiKey`, `session.token`, `email`, a short token echoed as `login`, an object under `avatar`)',
    'refused: only the top-level fields of `HIPOCHAT_PROFILE_PUBLIC_FIELDS` (id field, `username`, names, avatars), and only strings, numbers, booleans or null, reach frames, history, tickets, the identity cache, the authorizer context and the push webhook',
    '`test/e2e/credentials.test.ts`, `test/unit/credentials.test.ts`',
  ],
  [
    'Wrong `Bearer` key on `/talk/item` (a near miss, a user token, anything)',
    'refused: 401 `service key refused`, compared in constant time with `HIPOCHAT_SERVICE_KEY`, no profile-endpoint call, nothing stored or broadcast; with the dev identity a near-miss key is no longer a user named after it',
    '`test/e2e/credentials.test.ts`, `test/e2e/cli-backend.test.ts`',
  ],
  [
    '`Bearer` (even the right key) on a user route: `old`, `notification`, `history`, `ticket`',
    "refused without a profile-endpoint call: 401 for a wrong key, 403 for the right one, naming the route's purpose",
    '`test/e2e/credentials.test.ts`, `test/unit/credentials.test.ts`',
  ],
  [
    'Forged SigV4 on the local `/@connections` (any header starting `AWS4-HMAC-SHA256 `, other keys, a swapped body, a stale date) to post a frame claiming `author: admin`',
    "refused: 403 (`InvalidSignatureException` and kin), the signature recomputed with the gateway's `AWS_*` keys and compared in constant time; the SDK client and `SignedPostSender` still deliver",
    '`test/e2e/local-gateway.test.ts`, `test/unit/local-sigv4.test.ts`',
  ],
  [
    "`GET /dev/push` (every room's pushes, closed rooms included) on a gateway with a real profile endpoint",
    'refused: 404; served only with the dev identity, and the gateway warns at start-up when the dev identity listens beyond loopback',
    '`test/e2e/local-gateway.test.ts`, `test/unit/local-startup.test.ts`',
  ],
  [
    'Bad room name on the local websocket upgrade (`/?room=no%20spaces`, `/talk/chat/bad%zz/`)',
    'refused: 400 with the text HTTP routes give (`invalid room name: ...`) on both URL shapes, before the authorizer runs (deployed, API Gateway answers 403)',
    '`test/e2e/local-gateway.test.ts`, `test/e2e/hipochat-compat.test.ts`',
  ],
  [
    'A message body nested thousands of levels deep, on the socket or `/talk/item` (it used to make `/talk/old` and `/talk/history` answer 500 for every member)',
    'refused before anything is stored: error frame or 400 `message too deeply nested: the limit is 32 levels` (`HIPOCHAT_MAX_BODY_DEPTH`), with the `clientId`; history keeps answering; a client mistake is never reported as `unavailable`',
    '`test/e2e/hardening.test.ts`, `test/unit/message-limits.test.ts`, `test/faults/bad-input.test.ts`',
  ],
  [
    "A user sends `Idempotency-Key: order-42` first, so the backend's later injection with the same key would return the user's message",
    'refused: idempotency records are scoped by caller (the backend, or the user id) and room; the backend gets its own message',
    '`test/e2e/hardening.test.ts`, `test/unit/message-limits.test.ts`',
  ],
  [
    'Flooding a room through `/talk/item` with a user token (200 injections in 368 ms) to fill Redis',
    'refused: user injections share the per-user-per-room budget of frames (and the cross-room one when on); backend injections have their own (`HIPOCHAT_BACKEND_RATE_LIMIT_PER_MINUTE`); 429 `{"error":"rate limit exceeded","retryAfter":s}` with `Retry-After`, nothing stored',
    '`test/e2e/hardening.test.ts`, `test/integration/store-contract.test.ts`',
  ],
  [
    "Retrying one `Idempotency-Key` or `clientId` to make every member's phone ring again",
    'refused: a retry answered from its idempotency record gets its ack or 201 and publishes and pushes nothing; pushes carry `id` and `timestamp` and a `t=,v1=` signature receivers can check for replay',
    '`test/e2e/hardening.test.ts`, `test/unit/push-notifier.test.ts`',
  ],
  [
    "A room grown until `/talk/old` or `/talk/history` answers more than Lambda's 6 MB (400 × 16 KB gave 12.4 MiB)",
    'refused: every HTTP answer stays under 5 MB; `/talk/old` pages with `limit` and `before` and says `page.more`',
    '`test/e2e/chat.test.ts`, `test/unit/history-paging.test.ts`',
  ],
  [
    '`HIPOCHAT_MAX_MESSAGE_BYTES` above 32 KB, which API Gateway answers by closing the socket (1009)',
    'refused at start-up (and at synth through `-c chatEnv`): the limit is 29696, so the outbound frame with id, bounded author, timestamp and room fits 32 KB, and the error says why',
    '`test/unit/config.test.ts`, `test/unit/outbound-frame.test.ts`, `test/infra/chat-env.test.ts`',
  ],
  [
    'A member removed from a closed room whose socket could not be closed keeps posting',
    'refused: a frame in a closed room re-checks membership (open rooms still cost one round trip)',
    '`test/e2e/hardening.test.ts`, `test/unit/message-limits.test.ts`',
  ],
  [
    'Calling a backend route (membership, moderation, broadcast, disconnect) with no credential, a wrong key or a valid user token, or a user route with the service key',
    "refused by one check the HTTP wrapper runs from the routes table before any handler (none can skip it): 401 for a missing or wrong credential, 403 for a right one the route does not take, the text naming that route's purpose; a `Bearer` never reaches the profile endpoint",
    '`test/unit/credentials.test.ts`, `test/e2e/credentials.test.ts`',
  ],
  [
    'A backend route on a server without `HIPOCHAT_SERVICE_KEY` (every route used to say "membership management is disabled")',
    "refused: 401 (403 for a valid user token) saying that route's purpose is disabled and naming `HIPOCHAT_SERVICE_KEY`",
    '`test/unit/credentials.test.ts`, `test/e2e/cli-backend.test.ts`',
  ],
  [
    "Reading the local gateway's start-up lines (a terminal, a CI log) for the API key in the query string of `HIPOCHAT_PROFILE_URL` or `HIPOCHAT_PUSH_NOTIFICATION_URL`",
    'hidden: query values, fragments and passwords of every printed URL show as `***` (parameter names stay)',
    '`test/unit/local-startup.test.ts`',
  ],
  [
    'Signing `@connections` posts or Lambda Invoke calls with the documented `local`/`local` keys against a local gateway on `HIPOCHAT_LISTEN_ADDRESS=0.0.0.0`',
    'warned at start-up: the endpoints accept the default secret beyond loopback; set `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` or listen on 127.0.0.1',
    '`test/unit/local-startup.test.ts`',
  ],
  [
    'One user posts 1,800 `/talk/item` injections into 15 rooms in 5 s, each room under its own per-room limit',
    "refused: `HIPOCHAT_USER_INJECTION_LIMIT_PER_MINUTE` (on by default, 120) counts a user's injections across rooms before anything is stored; over it is a 429 with `Retry-After` and nothing stored or published; the backend (service key) keeps its own limit",
    '`test/e2e/hardening.test.ts`, `test/unit/injection-limit.test.ts`',
  ],
  [
    '150 users × 20 emoji on one message (189 KB in one hash field) and a 25.8 KB frame republished for every 67-byte toggle',
    'refused: a summary lists at most 20 users per emoji (`count` exact, `clipped: true` beyond; under 6 KB for 150 × 20), who reacted lives in a per-room sorted set a toggle touches in O(log n), and a toggle announces a delta frame (emoji, user, count, added) under 200 bytes',
    '`test/e2e/edits.test.ts`, `test/integration/changes-contract.test.ts`, `test/integration/redis-store.test.ts`, `test/unit/edits.test.ts`',
  ],
  [
    '`GET /talk/receipts/<room>/` over 50,000 members: 80 ms of Redis per request, unpaged',
    'refused: receipts are paged (`limit` 1 to 1000, default 100; `after` = the previous `next`), each page at most a few HSCAN calls of `limit` whatever the room size; paging visits every member once',
    '`test/e2e/hardening.test.ts`, `test/integration/signals-contract.test.ts`, `test/unit/signals.test.ts`',
  ],
  [
    "A broadcast of the largest allowed message into 100 rooms answered 6.5 MB, over Lambda's 6 MB, after storing and publishing everything",
    'refused: a broadcast answers where each message went (`{"room","id"}` per room), never the bodies: under 10 KB for 100 rooms at any message size',
    '`test/e2e/hardening.test.ts`, `test/e2e/signals.test.ts`, `test/unit/signals.test.ts`',
  ],
  [
    'Reacting with `__proto__` or `constructor`: a 500 in memory mode, an invisible reaction that takes a slot in Redis',
    'refused: an error frame `emoji must be one emoji…` in both modes, nothing stored; reactions live in Maps and null-prototype objects, so such a key (should a store hold one) is a key like any other',
    '`test/e2e/edits.test.ts`, `test/unit/edits.test.ts`, `test/integration/changes-contract.test.ts`',
  ],
  [
    'Any string as an emoji: a lone ZWJ, U+202E (right-to-left override), tag characters, a lone surrogate',
    'refused: an emoji is one RGI emoji sequence (`/^\\p{RGI_Emoji}$/v`) or an entry of `HIPOCHAT_REACTIONS`, whose entries are checked at start-up; anything else is an error frame naming the rule',
    '`test/e2e/edits.test.ts`, `test/unit/edits.test.ts`',
  ],
  [
    'A chat frame `{"body":"x","signal":"<any frame JSON>"}` delivered verbatim to every signals connection (a message "from admin", an `edit` of a victim\'s message dated far in the future)',
    'refused: `protocol/` reads every client frame once into a typed frame; `signal` and `except` belong to the server, a stored message never carries them, and a bus message is a signal only with the signal type the server sets; the frame arrives as a plain message',
    '`test/e2e/server-fields.test.ts`, `test/faults/forged-fields.test.ts`, `test/unit/client-frames.test.ts`, `test/unit/server-owned-fields.test.ts`',
  ],
  [
    'Moderation bypass: `{"body":"SPAM","deleted":true}` (or `edited`, `reactions` with a count of 9999) stored as sent, so a backend delete answered 200 and kept the body',
    "refused: a stored message is the client's own fields minus the one list of server fields (`SERVER_FIELDS`, derived from the frame definitions), plus the server's; the backend's delete removes the body from `/talk/old` and `/talk/history`, the author's edit works",
    '`test/e2e/server-fields.test.ts`, `test/faults/forged-fields.test.ts`, `test/unit/client-frames.test.ts`, `test/unit/server-owned-fields.test.ts`',
  ],
  [
    "A user whose id is `backend` reacts with `clientId` X, and the backend's later delete with `Idempotency-Key: X` answers 200 and changes nothing",
    "refused: change and idempotency keys are scoped by the kind of caller (`u:<user id>` for users, `backend` for the service key), so no user id shares the backend's keys",
    '`test/e2e/server-fields.test.ts`, `test/unit/edits.test.ts`, `test/unit/caller-keys.test.ts`',
  ],
  [
    'A chat frame with an `ERROR` field read by the client library as an error frame (`authentication error` even stopped its reconnects)',
    "refused: the server drops `ERROR` from messages, and the client reads a frame by the server's encoding: a frame with an `id` and a message `type` is a message whatever it carries (one stored before the fix too)",
    '`test/e2e/server-fields.test.ts`, `test/unit/client-frames.test.ts`, `test/unit/server-owned-fields.test.ts`',
  ],
  [
    '`HIPOCHAT_MESSAGE_TYPES` naming a server or control frame type (`ack`, `edit`, `reaction`, `delete`, `presence`, `read`, `batch`, `pong`, `ping`, `react`, `typing`), whose messages clients would read as that frame',
    'refused at start-up with a one-line error naming the variable, the reserved types and the value',
    '`test/unit/client-frames.test.ts`',
  ],
  [
    'Drop-in regression: with `HIPOCHAT_PROFILE_ID_FIELD` at its default, a Hipochat profile `{"user_id": 1001, "name": …}` gave an `author` without `user_id`, which old clients use to find their own messages',
    'fixed: the default public fields hold both `id` and `user_id`, and the public profile always keeps the field the user id was read from',
    '`test/e2e/hipochat-compat.test.ts`, `test/unit/auth-tickets.test.ts`, `test/unit/credentials.test.ts`, `test/unit/protocol.test.ts`',
  ],
  [
    'A client names retry targets in its message (`x-hipochat-targets` among its fields) to narrow who receives it',
    "no effect: the fan-out reads a requeued message's remaining targets from AMQP headers only, which only the fan-out sets; the message reaches the whole room",
    '`test/unit/fanout-retry.test.ts`',
  ],
  [
    'A connect and close loop (2N presence frames per cycle to every signals connection of the room)',
    'refused: `HIPOCHAT_CONNECT_LIMIT_PER_MINUTE` (60) connects per user per minute across rooms, then 429 on the upgrade; presence is folded into one digest per `HIPOCHAT_READ_DIGEST_MS`, where a join and a leave in one window make nothing, and rooms above `HIPOCHAT_SIGNALS_MAX_MEMBERS` send no presence at all',
    '`test/e2e/signals.test.ts`, `test/unit/signals.test.ts`, `test/integration/signals-contract.test.ts`',
  ],
  [
    "Outbound frames inflated past API Gateway's 32 KB (sockets closed with 1009, two billed units): a body of `1e20` numbers that re-encode to 21 digits each, a profile with huge public fields, a very long user id",
    'refused or bounded: a frame is measured again as the server re-encodes it (413); the author keeps the public fields that fit 2,048 bytes; a user id over 256 bytes is refused at connect (401)',
    '`test/unit/outbound-frame.test.ts`',
  ],
  [
    'A connection that follows rooms subscribes to a closed room it is no member of, or names one in `?rooms=`',
    'refused: an error frame naming the room (`room is closed to non-members`), or 403 at the handshake; nothing of the room reaches the connection, and the cap (`HIPOCHAT_MAX_ROOMS_PER_CONNECTION`) is checked in one Redis step so parallel subscribes cannot pass it',
    '`test/e2e/rooms.test.ts`, `test/integration/follower-store.test.ts`',
  ],
  [
    'A frame names a room its connection does not follow (`"room"` on a message, typing, edit, delete or react frame)',
    'refused on a multi-room connection (`not subscribed to this room`, nothing stored); ignored on a single-room connection, whose frames always go to its own room, and never echoed in its error frames',
    '`test/e2e/rooms.test.ts`, `test/faults/forged-fields.test.ts`',
  ],
  [
    "A forged, altered or replayed push webhook request to a backend that checks it with `@hipochat/server`'s `verifyPushSignature`",
    'refused: `false` for another secret, a changed byte of the raw body, a `t` further than `toleranceSeconds` (300) from now, or a malformed header; compared in constant time, never throwing',
    '`test/unit/hipochat-server.test.ts`, `test/packages/against-gateway.test.ts`',
  ],
];

/** The Markdown of docs/reliability.md. */
export function renderReport(rows: readonly ScenarioRow[]): string {
  const table = markdownTable(
    ['Scenario', 'Injected', 'Sent', 'Acknowledged', 'Delivered', 'Duplicated', 'Lost', 'Result'],
    rows.map((r) =>
      [r.scenario, r.injected, r.sent, r.acknowledged, r.delivered, r.duplicated, r.lost, r.result].map(cell),
    ),
    new Set([2, 3, 4, 5, 6]),
  );
  return `${[
    '# Reliability',
    '',
    '<!-- Written by the fault tests (`npx jest --selectProjects faults`); do not edit by hand. -->',
    '',
    'Each row is one test of `test/faults/`. Every scenario starts its own `redis-server`, TCP proxy',
    'or fault-injecting HTTP proxy on spare loopback ports, so the shared Redis and RabbitMQ are',
    'never stopped. Clients send with a `clientId`; the server answers `{"type":"ack","id","clientId"}`',
    'once the message is stored and the broker confirmed it, or an error frame naming the `clientId`.',
    '',
    '- **Sent**: websocket frames sent with a `clientId`.',
    '- **Acknowledged**: acks received (stored in Redis and confirmed by the broker).',
    '- **Delivered**: distinct acknowledged messages received, summed over the live sockets.',
    '- **Duplicated**: extra copies of an id a socket already had (redelivered or requeued), dropped by',
    '  the client, which dedupes by `id`. History never holds duplicates.',
    '- **Lost**: acknowledged messages a live socket never received; must be 0.',
    '',
    ...table,
    '',
    '## Security',
    '',
    'Attacks from the hardening review of the running gateway (real Redis and RabbitMQ, a',
    'customer-style profile endpoint, a service key, closed rooms) and what each gets now.',
    '',
    ...markdownTable(
      ['Attack', 'Result', 'Test'],
      SECURITY_ROWS.map((row) => row.map(cell)),
      new Set(),
    ),
    '',
    '## Verifying the push webhook signature',
    '',
    'With `HIPOCHAT_PUSH_SECRET` set, every push request carries',
    '`X-Hipochat-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw request body>">`.',
    'Compute the HMAC over `t`, a dot and the exact bytes received (before any JSON parsing), compare',
    'in constant time, and refuse a `t` more than 5 minutes from your clock: a captured request replayed',
    "later fails. The body carries the message's `id` (unique per room) and `timestamp`; a redelivered",
    'fan-out batch may push a message again, so drop an id you already handled:',
    '',
    '```js',
    "import { createHmac, timingSafeEqual } from 'node:crypto';",
    "import { createServer } from 'node:http';",
    '',
    'const secret = process.env.HIPOCHAT_PUSH_SECRET;',
    'const TOLERANCE_SECONDS = 300;',
    'const handled = new Map(); // "<room> <id>" -> when; forget entries after a day',
    '',
    'function verified(rawBody, header) {',
    "  const match = /^t=(\\d+),v1=([0-9a-f]{64})$/.exec(String(header ?? ''));",
    '  if (!match) return false;',
    '  const [, t, v1] = match;',
    '  if (Math.abs(Date.now() / 1000 - Number(t)) > TOLERANCE_SECONDS) return false; // stale: a replay',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript of the docs, shown as text
    "  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();",
    "  return timingSafeEqual(Buffer.from(v1, 'hex'), expected);",
    '}',
    '',
    'setInterval(() => {',
    '  for (const [key, at] of handled) if (Date.now() - at > 86_400_000) handled.delete(key);',
    '}, 3_600_000).unref();',
    '',
    'createServer((request, response) => {',
    '  const chunks = [];',
    "  request.on('data', (chunk) => chunks.push(chunk));",
    "  request.on('end', () => {",
    '    const raw = Buffer.concat(chunks);',
    "    if (!verified(raw, request.headers['x-hipochat-signature'])) return response.writeHead(401).end();",
    '    const { id, timestamp, chat_token: room, receivers, body, type, author } = JSON.parse(raw.toString());',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript of the docs, shown as text
    '    if (handled.has(`${room} ${id}`)) return response.writeHead(204).end(); // a repeated push',
    '    // ... send the notification to `receivers` ...',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript of the docs, shown as text
    '    handled.set(`${room} ${id}`, Date.now());',
    '    response.writeHead(204).end();',
    '  });',
    '}).listen(8080);',
    '```',
    '',
    'The body holds user ids and public profiles, never tokens. Reject requests whose signature does',
    'not match or is stale; the sender retries 5xx and network errors up to three times (each attempt',
    'signed afresh), and never follows a redirect, so answer 2xx only once the notification is queued.',
    '',
  ].join('\n')}`;
}
