/**
 * Lua of messages that change: the overlay read with every log read, compare-and-set edits and
 * deletes, and reaction toggles. A log entry cannot be rewritten in place, so `hc:{room}:edits`
 * maps a message id to its current version (or tombstone) and `hc:{room}:reactions` to its
 * reactions summary (`{"👍":{"count":2,"users":["ua","ub"]}}`, at most 20 users listed per emoji).
 * Who reacted with what is `hc:{room}:reactors`, a sorted set of `<padded id>\0<emoji>\0<user>`
 * (all score 0, so in byte order): a toggle checks and counts there in O(log n), and a message's or
 * the trimmed messages' entries go with one range removal. All live in the room's slot and lose the
 * entries of messages the log trimmed whenever they are written.
 */
import { defineScript } from './redis-script-spec.js';

/**
 * `overlay(entries, edits, reactions, threads)`: replaces each XRANGE entry's data with its current
 * version and appends `'r', <reactions JSON>` and `'t', <replies summary JSON>` to its fields, in the
 * script that reads the log (one round trip). `threads` may be nil (no replies summaries).
 */
export const OVERLAY = `
local function overlay(entries, edits, reactions, threads)
  local threaded = threads and redis.call('EXISTS', threads) == 1
  if not threaded and redis.call('EXISTS', edits) == 0 and redis.call('EXISTS', reactions) == 0 then return entries end
  for _, entry in ipairs(entries) do
    local current = redis.call('HGET', edits, entry[1])
    if current then entry[2][2] = current end
    local reacted = redis.call('HGET', reactions, entry[1])
    if reacted then
      table.insert(entry[2], 'r')
      table.insert(entry[2], reacted)
    end
    if threaded then
      local summary = redis.call('HGET', threads, entry[1])
      if summary then
        table.insert(entry[2], 't')
        table.insert(entry[2], summary)
      end
    end
  end
  return entries
end
`;

// Forgets overlay fields of messages older than the log's oldest entry (trimmed by MAXLEN), and
// their reactors; a message id pads to 16 + 16 digits in `reactors`, so byte order is id order.
const FORGET_TRIMMED = `
local function older(a, b)
  local am, aseq = string.match(a, '(%d+)-(%d+)')
  local bm, bseq = string.match(b, '(%d+)-(%d+)')
  am, aseq, bm, bseq = tonumber(am), tonumber(aseq), tonumber(bm), tonumber(bseq)
  return am < bm or (am == bm and aseq < bseq)
end
local function padded(id)
  local ms, seq = string.match(id, '(%d+)-(%d+)')
  return string.rep('0', 16 - #ms) .. ms .. '-' .. string.rep('0', 16 - #seq) .. seq
end
local function forget_trimmed(log, hash, reactors)
  local oldest = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)
  for _, id in ipairs(redis.call('HKEYS', hash)) do
    if #oldest == 0 or older(id, oldest[1][1]) then redis.call('HDEL', hash, id) end
  end
  if reactors and #oldest > 0 then redis.call('ZREMRANGEBYLEX', reactors, '-', '(' .. padded(oldest[1][1])) end
end
local function over_limit(rate, limit, window)
  if limit == '0' then return false end
  local count = redis.call('INCR', rate)
  if count == 1 then redis.call('EXPIRE', rate, window) end
  return count > tonumber(limit)
end
`;

// A message's reactions summary, decoded; a summary stored before the reactors set existed
// (`{"👍":["ua","ub"]}`) moves its users there first, so counts stay exact.
const SUMMARY = `
local function summary_of(reactions, reactors, id, prefix, listed)
  local map = cjson.decode(redis.call('HGET', reactions, id) or '{}')
  for emoji, entry in pairs(map) do
    if entry.count == nil then
      for _, user in ipairs(entry) do redis.call('ZADD', reactors, 0, prefix .. emoji .. '\\0' .. user) end
      local users = {}
      for i = 1, math.min(#entry, listed) do users[i] = entry[i] end
      map[emoji] = {count = #entry, users = users}
      if #entry > listed then map[emoji].clipped = true end
    end
  end
  return map
end
`;

export const changeScripts = {
  hcCurrent: defineScript({
    // Answers {duplicate 1/0, the current version's text or false when the log has no such message}.
    keys: ['log', 'edits', 'idempotency'],
    args: ['id', 'useIdem'],
    lua: `
local dup = 0
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then dup = 1 end
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then
  local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
  if #entry > 0 then current = entry[1][2][2] end
end
return {dup, current or false}`,
  }),
  hcReplace: defineScript({
    // `prefix` is the message's `<padded id>\0` in reactors. Answers {0} replaced, {1} no such
    // message, {2} changed meanwhile, {3, ttl} over the rate limit.
    keys: ['log', 'edits', 'reactions', 'reactors', 'idempotency', 'rate'],
    args: ['id', 'expectedText', 'nextText', 'deleted', 'useIdem', 'idemTtl', 'limit', 'window', 'prefix'],
    lua: `${FORGET_TRIMMED}
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then
  local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
  if #entry == 0 then return {1} end
  current = entry[1][2][2]
end
if current ~= ARGV[2] then return {2} end
if over_limit(KEYS[6], ARGV[7], ARGV[8]) then return {3, redis.call('TTL', KEYS[6])} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if ARGV[4] == '1' then
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('ZREMRANGEBYLEX', KEYS[4], '[' .. ARGV[9], '(' .. string.sub(ARGV[9], 1, -2) .. '\\1')
end
if ARGV[5] == '1' then redis.call('SET', KEYS[5], ARGV[1], 'EX', ARGV[6]) end
forget_trimmed(KEYS[1], KEYS[2])
return {0}`,
  }),
  hcReact: defineScript({
    // `prefix` is the message's `<padded id>\0` in reactors. Toggles one reactor entry, then sets
    // the emoji's exact count (ZLEXCOUNT) and its listed users (at most `listed`, refilled from
    // reactors when a listed one leaves). Answers {0, count, added 1/0} toggled, {1} a duplicate,
    // {2} no such message (or a tombstone), {3} too many distinct reactions, {4, ttl} over the
    // rate limit.
    keys: ['log', 'edits', 'reactions', 'reactors', 'idempotency', 'rate'],
    args: [
      'id',
      'prefix',
      'user',
      'emoji',
      'maxDistinct',
      'listed',
      'useIdem',
      'idemTtl',
      'limit',
      'window',
      'tombstonePrefix',
    ],
    lua: `${FORGET_TRIMMED}${SUMMARY}
local id, prefix, user, emoji = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local listed = tonumber(ARGV[6])
if ARGV[7] == '1' and redis.call('EXISTS', KEYS[5]) == 1 then return {1} end
if #redis.call('XRANGE', KEYS[1], id, id) == 0 then return {2} end
local current = redis.call('HGET', KEYS[2], id)
if current and string.sub(current, 1, #ARGV[11]) == ARGV[11] then return {2} end
local map = summary_of(KEYS[3], KEYS[4], id, prefix, listed)
local lead = prefix .. emoji .. '\\0'
local member = lead .. user
local added = redis.call('ZSCORE', KEYS[4], member) == false
if added and map[emoji] == nil then
  local distinct = 0
  for _ in pairs(map) do distinct = distinct + 1 end
  if distinct >= tonumber(ARGV[5]) then return {3} end
end
if over_limit(KEYS[6], ARGV[9], ARGV[10]) then return {4, redis.call('TTL', KEYS[6])} end
local entry = map[emoji] or {count = 0, users = {}}
local users = {}
if added then
  redis.call('ZADD', KEYS[4], 0, member)
  users = entry.users
  if #users < listed then table.insert(users, user) end
else
  redis.call('ZREM', KEYS[4], member)
  for _, other in ipairs(entry.users) do
    if other ~= user then table.insert(users, other) end
  end
end
local stop = string.sub(lead, 1, -2) .. '\\1'
local count = redis.call('ZLEXCOUNT', KEYS[4], '[' .. lead, '(' .. stop)
if count > #users and #users < listed then
  local shown = {}
  for _, other in ipairs(users) do shown[other] = true end
  for _, found in ipairs(redis.call('ZRANGEBYLEX', KEYS[4], '[' .. lead, '(' .. stop, 'LIMIT', 0, listed + 1)) do
    local other = string.sub(found, #lead + 1)
    if #users < listed and not shown[other] then table.insert(users, other) end
  end
end
if count == 0 then
  map[emoji] = nil
else
  map[emoji] = {count = count, users = users}
  if count > #users then map[emoji].clipped = true end
end
if next(map) == nil then
  redis.call('HDEL', KEYS[3], id)
else
  redis.call('HSET', KEYS[3], id, cjson.encode(map))
end
if ARGV[7] == '1' then redis.call('SET', KEYS[5], id, 'EX', ARGV[8]) end
forget_trimmed(KEYS[1], KEYS[3], KEYS[4])
return {0, count, added and 1 or 0}`,
  }),
} as const;
