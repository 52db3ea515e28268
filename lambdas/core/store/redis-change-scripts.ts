/**
 * Lua of messages that change: the overlay read with every log read, compare-and-set edits and
 * deletes, and reaction toggles. A log entry cannot be rewritten in place, so `hc:{room}:edits`
 * maps a message id to its current version (or tombstone) and `hc:{room}:reactions` to its
 * reactions (`{"👍":["ua","ub"]}`); both live in the room's slot and lose the fields of messages
 * the log trimmed whenever they are written.
 */

/**
 * `overlay(entries, edits, reactions)`: replaces each XRANGE entry's data with its current version
 * and appends `'r', <reactions JSON>` to its fields, in the script that reads the log (one round trip).
 */
export const OVERLAY = `
local function overlay(entries, edits, reactions)
  if redis.call('EXISTS', edits) == 0 and redis.call('EXISTS', reactions) == 0 then return entries end
  for _, entry in ipairs(entries) do
    local current = redis.call('HGET', edits, entry[1])
    if current then entry[2][2] = current end
    local reacted = redis.call('HGET', reactions, entry[1])
    if reacted then
      entry[2][3] = 'r'
      entry[2][4] = reacted
    end
  end
  return entries
end
`;

// Forgets overlay fields of messages older than the log's oldest entry (trimmed by MAXLEN).
const FORGET_TRIMMED = `
local function older(a, b)
  local am, aseq = string.match(a, '(%d+)-(%d+)')
  local bm, bseq = string.match(b, '(%d+)-(%d+)')
  am, aseq, bm, bseq = tonumber(am), tonumber(aseq), tonumber(bm), tonumber(bseq)
  return am < bm or (am == bm and aseq < bseq)
end
local function forget_trimmed(log, hash)
  local oldest = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)
  for _, id in ipairs(redis.call('HKEYS', hash)) do
    if #oldest == 0 or older(id, oldest[1][1]) then redis.call('HDEL', hash, id) end
  end
end
local function over_limit(rate, limit, window)
  if limit == '0' then return false end
  local count = redis.call('INCR', rate)
  if count == 1 then redis.call('EXPIRE', rate, window) end
  return count > tonumber(limit)
end
`;

export const changeScripts = {
  hcCurrent: {
    numberOfKeys: 3,
    // KEYS: log edits idempotency; ARGV: id useIdem
    // Answers {duplicate 1/0, the current version's text or false when the log has no such message}.
    lua: `
local dup = 0
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then dup = 1 end
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then
  local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
  if #entry > 0 then current = entry[1][2][2] end
end
return {dup, current or false}`,
  },
  hcReplace: {
    numberOfKeys: 5,
    // KEYS: log edits reactions idempotency rate
    // ARGV: id expectedText nextText deleted useIdem idemTtl limit window
    // Answers {0} replaced, {1} no such message, {2} changed meanwhile, {3, ttl} over the rate limit.
    lua: `${FORGET_TRIMMED}
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then
  local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
  if #entry == 0 then return {1} end
  current = entry[1][2][2]
end
if current ~= ARGV[2] then return {2} end
if over_limit(KEYS[5], ARGV[7], ARGV[8]) then return {3, redis.call('TTL', KEYS[5])} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if ARGV[4] == '1' then redis.call('HDEL', KEYS[3], ARGV[1]) end
if ARGV[5] == '1' then redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[6]) end
forget_trimmed(KEYS[1], KEYS[2])
return {0}`,
  },
  hcReact: {
    numberOfKeys: 5,
    // KEYS: log edits reactions idempotency rate
    // ARGV: id user emoji maxDistinct useIdem idemTtl limit window tombstonePrefix
    // Answers {0, reactions JSON} toggled, {1, reactions JSON} a duplicate, {2} no such message
    // (or a tombstone), {3} too many distinct reactions, {4, ttl} over the rate limit.
    lua: `${FORGET_TRIMMED}
if ARGV[5] == '1' and redis.call('EXISTS', KEYS[4]) == 1 then
  return {1, redis.call('HGET', KEYS[3], ARGV[1]) or '{}'}
end
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return {2} end
local current = redis.call('HGET', KEYS[2], ARGV[1])
if current and string.sub(current, 1, #ARGV[9]) == ARGV[9] then return {2} end
local map = cjson.decode(redis.call('HGET', KEYS[3], ARGV[1]) or '{}')
local users = map[ARGV[3]]
if users then
  local kept = {}
  local found = false
  for _, user in ipairs(users) do
    if user == ARGV[2] then found = true else table.insert(kept, user) end
  end
  if not found then table.insert(kept, ARGV[2]) end
  if #kept == 0 then map[ARGV[3]] = nil else map[ARGV[3]] = kept end
else
  local distinct = 0
  for _ in pairs(map) do distinct = distinct + 1 end
  if distinct >= tonumber(ARGV[4]) then return {3} end
  map[ARGV[3]] = {ARGV[2]}
end
if over_limit(KEYS[5], ARGV[7], ARGV[8]) then return {4, redis.call('TTL', KEYS[5])} end
local text = '{}'
if next(map) == nil then
  redis.call('HDEL', KEYS[3], ARGV[1])
else
  text = cjson.encode(map)
  redis.call('HSET', KEYS[3], ARGV[1], text)
end
if ARGV[5] == '1' then redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[6]) end
forget_trimmed(KEYS[1], KEYS[3])
return {0, text}`,
  },
} as const;
