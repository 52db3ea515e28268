/**
 * The store's Lua scripts, defined as client commands. Each script touches the keys of one room
 * only (or one counter), so it runs in one slot in cluster mode.
 */
export const scripts = {
  hcConnect: {
    numberOfKeys: 6,
    // KEYS: conns expiry members mark seq batched; ARGV: connectionId userId expiresAtMs batched
    lua: `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] == '1' then redis.call('SADD', KEYS[6], ARGV[1]) end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], redis.call('GET', KEYS[5]) or 0)
return 1`,
  },
  hcDisconnect: {
    numberOfKeys: 7,
    // KEYS: conns expiry log seen mark seq batched; ARGV: connectionId markRead leftAtMs
    lua: `
local function newer(a, b)
  local am, aseq = string.match(a, '(%d+)-(%d+)')
  local bm, bseq = string.match(b, '(%d+)-(%d+)')
  am, aseq, bm, bseq = tonumber(am), tonumber(aseq), tonumber(bm), tonumber(bseq)
  return am > bm or (am == bm and aseq > bseq)
end
local user = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[7], ARGV[1])
if not user then return false end
if ARGV[2] == '1' then
  local last = redis.call('XREVRANGE', KEYS[3], '(' .. ARGV[3] .. '-0', '-', 'COUNT', 1)
  local seen = redis.call('HGET', KEYS[4], user)
  -- Read state only moves forward: the user may have read further (sent, fetched old) since.
  if #last > 0 and (not seen or newer(last[1][1], seen)) then
    seen = last[1][1]
    redis.call('HSET', KEYS[4], user, seen)
  end
  local after = redis.call('XRANGE', KEYS[3], seen and ('(' .. seen) or '-', '+', 'COUNT', 10000)
  local seq = tonumber(redis.call('GET', KEYS[6]) or '0')
  local mark = tonumber(redis.call('HGET', KEYS[5], user) or '0')
  redis.call('HSET', KEYS[5], user, math.max(mark, seq - #after))
end
return user`,
  },
  hcConnections: {
    numberOfKeys: 3,
    // KEYS: conns expiry batched; ARGV: nowMs
    lua: `
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if #expired > 0 then
  redis.call('HDEL', KEYS[1], unpack(expired))
  redis.call('ZREM', KEYS[2], unpack(expired))
  redis.call('SREM', KEYS[3], unpack(expired))
end
return {redis.call('HGETALL', KEYS[1]), redis.call('SMEMBERS', KEYS[3])}`,
  },
  hcAppend: {
    numberOfKeys: 6,
    // KEYS: log seq seen mark idempotency rate; ARGV: data sender maxlen idemTtl useIdem limit window
    // Answers {id, data, 0} stored, {id, data, 1} a duplicate, {false, false, 2, ttl} over the limit.
    // Unread counts are derived (room seq - reader's mark), so a message costs O(1) whatever the room size.
    lua: `
if ARGV[5] == '1' then
  local existing = redis.call('GET', KEYS[5])
  if existing then
    local entry = redis.call('XRANGE', KEYS[1], existing, existing)
    if #entry > 0 then return {existing, entry[1][2][2], 1} end
  end
end
if ARGV[6] ~= '0' then
  local count = redis.call('INCR', KEYS[6])
  if count == 1 then redis.call('EXPIRE', KEYS[6], ARGV[7]) end
  if count > tonumber(ARGV[6]) then return {false, false, 2, redis.call('TTL', KEYS[6])} end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'd', ARGV[1])
local seq = redis.call('INCR', KEYS[2])
if ARGV[5] == '1' then redis.call('SET', KEYS[5], id, 'EX', ARGV[4]) end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[2], seq)
  redis.call('HSET', KEYS[3], ARGV[2], id)
end
return {id, ARGV[1], 0}`,
  },
  hcRetract: {
    numberOfKeys: 3,
    // KEYS: log seq idempotency; ARGV: id
    lua: `
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[3])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 1`,
  },
  hcRead: {
    numberOfKeys: 4,
    // KEYS: log seen mark seq; ARGV: userId start
    lua: `
local seen = redis.call('HGET', KEYS[2], ARGV[1])
local entries = redis.call('XRANGE', KEYS[1], ARGV[2], '+')
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then redis.call('HSET', KEYS[2], ARGV[1], last[1][1]) end
redis.call('HSET', KEYS[3], ARGV[1], redis.call('GET', KEYS[4]) or 0)
return {seen or false, entries}`,
  },
  hcPage: {
    numberOfKeys: 4,
    // KEYS: log seen mark seq; ARGV: userId end start count markRead ('1' marks the room read)
    // One more than asked tells whether more match without a second call.
    lua: `
local seen = redis.call('HGET', KEYS[2], ARGV[1])
local entries = redis.call('XREVRANGE', KEYS[1], ARGV[2], ARGV[3], 'COUNT', tonumber(ARGV[4]) + 1)
local more = 0
if #entries > tonumber(ARGV[4]) then
  more = 1
  table.remove(entries)
end
if ARGV[5] == '1' then
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if #last > 0 then redis.call('HSET', KEYS[2], ARGV[1], last[1][1]) end
  redis.call('HSET', KEYS[3], ARGV[1], redis.call('GET', KEYS[4]) or 0)
end
return {seen or false, entries, more}`,
  },
  hcLatest: {
    numberOfKeys: 4,
    // KEYS: log members mark seq; ARGV: userId limit
    lua: `
local entries = {}
if tonumber(ARGV[2]) > 0 then entries = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[2]) end
local unread = 0
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  unread = math.max(0, tonumber(redis.call('GET', KEYS[4]) or '0') - tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0'))
end
return {unread, entries}`,
  },
  hcCount: {
    numberOfKeys: 1,
    // KEYS: counter; ARGV: ttlSeconds slide ('1': the TTL restarts with every count, else with the first)
    // Answers {count, seconds left}.
    lua: `
local count = redis.call('INCR', KEYS[1])
if count == 1 or ARGV[2] == '1' then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('TTL', KEYS[1])}`,
  },
  hcAddMembers: {
    numberOfKeys: 3,
    // KEYS: members mark seq; ARGV: userIds... (new members start with nothing unread)
    lua: `
local seq = redis.call('GET', KEYS[3]) or 0
for i = 1, #ARGV do
  redis.call('SADD', KEYS[1], ARGV[i])
  redis.call('HSETNX', KEYS[2], ARGV[i], seq)
end
return #ARGV`,
  },
  hcRemoveMembers: {
    numberOfKeys: 4,
    // KEYS: members conns expiry batched; ARGV: userIds...
    lua: `
local removed = {}
local gone = {}
for i = 1, #ARGV do
  redis.call('SREM', KEYS[1], ARGV[i])
  gone[ARGV[i]] = true
end
local conns = redis.call('HGETALL', KEYS[2])
for i = 1, #conns, 2 do
  if gone[conns[i + 1]] then
    redis.call('HDEL', KEYS[2], conns[i])
    redis.call('ZREM', KEYS[3], conns[i])
    redis.call('SREM', KEYS[4], conns[i])
    table.insert(removed, conns[i])
    table.insert(removed, conns[i + 1])
  end
end
return removed`,
  },
} as const;

/** Name of a script command. */
export type ScriptName = keyof typeof scripts;
