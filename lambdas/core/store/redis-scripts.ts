import { changeScripts, OVERLAY } from './redis-change-scripts.js';
import { followerScripts } from './redis-follower-scripts.js';
import { MENTIONS, mentionScripts } from './redis-mention-scripts.js';
import { moderationScripts, restrictedSenderLua } from './redis-moderation-scripts.js';
import { defineScript } from './redis-script-spec.js';
import { signalScripts } from './redis-signal-scripts.js';
import { THREAD_APPEND, THREAD_RETRACT, threadScripts } from './redis-thread-scripts.js';

/**
 * The store's Lua scripts, defined as client commands. Each script touches the keys of one room
 * only (or one counter), so it runs in one slot in cluster mode.
 */

// Presence: `tabs` counts a user's live connections in the room; taking away the last one is a
// leave. A connection recorded before presence existed has no count and makes no leave (no join
// was ever announced for it).
const DEPART = `
local function depart(tabs, user)
  local n = tonumber(redis.call('HGET', tabs, user) or '0')
  if n > 1 then
    redis.call('HINCRBY', tabs, user, -1)
    return false
  end
  if n < 1 then return false end
  redis.call('HDEL', tabs, user)
  return true
end
`;

// Forgets the room's expired connections; its script's keys start with PRUNE_KEYS.
// Answers the users who so went offline, flat: {user, profile JSON or '', ...}.
const PRUNE = `${DEPART}
local function prune(now)
  local departed = {}
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  if #expired == 0 then return departed end
  for _, id in ipairs(expired) do
    local user = redis.call('HGET', KEYS[1], id)
    if user and depart(KEYS[5], user) then
      table.insert(departed, user)
      table.insert(departed, redis.call('HGET', KEYS[6], user) or '')
    end
  end
  redis.call('HDEL', KEYS[1], unpack(expired))
  redis.call('ZREM', KEYS[2], unpack(expired))
  redis.call('SREM', KEYS[3], unpack(expired))
  redis.call('SREM', KEYS[4], unpack(expired))
  return departed
end
`;

/** The keys every script that prunes expired connections starts with, in this order. */
export const PRUNE_KEYS = ['conns', 'expiry', 'batched', 'signals', 'tabs', 'profiles'] as const;

export const scripts = {
  ...changeScripts,
  ...signalScripts,
  ...followerScripts,
  ...mentionScripts,
  ...threadScripts,
  ...moderationScripts,
  hcConnect: defineScript({
    // Answers {joined (1: the user's first live connection in the room), signals connections}.
    keys: ['conns', 'expiry', 'members', 'mark', 'seq', 'batched', 'signals', 'tabs', 'profiles'],
    args: ['connectionId', 'userId', 'expiresAtMs', 'batched', 'signals', 'profile'],
    lua: `
local fresh = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] == '1' then redis.call('SADD', KEYS[6], ARGV[1]) end
if ARGV[5] == '1' then redis.call('SADD', KEYS[7], ARGV[1]) end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], redis.call('GET', KEYS[5]) or 0)
redis.call('HSET', KEYS[9], ARGV[2], ARGV[6])
local joined = 0
if fresh == 1 and redis.call('HINCRBY', KEYS[8], ARGV[2], 1) == 1 then joined = 1 end
return {joined, redis.call('SCARD', KEYS[7])}`,
  }),
  hcUserConnection: defineScript({
    // `member` is '<connectionId> <room>'.
    // The index lives as long as its latest connection record.
    keys: ['userConnections'],
    args: ['member', 'expiresAtMs', 'nowMs'],
    lua: `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local latest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], latest[2])
return 1`,
  }),
  hcDisconnect: defineScript({
    // Answers false when the connection was not there, else {user, left (1: their last connection),
    // profile JSON or '', the new read mark or '' when it did not move, signals connections left}.
    // A mark unread that still stands (`mentionFrom` names the user's current mark) is kept: the
    // user said they had not read from there, whatever the socket saw.
    keys: [
      'conns',
      'expiry',
      'log',
      'seen',
      'mark',
      'seq',
      'batched',
      'signals',
      'tabs',
      'profiles',
      'mentionFrom',
    ],
    args: ['connectionId', 'markRead', 'leftAtMs'],
    lua: `${DEPART}
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
redis.call('SREM', KEYS[8], ARGV[1])
if not user then return false end
local left = depart(KEYS[9], user) and 1 or 0
local moved = ''
local unreadMark = redis.call('HGET', KEYS[11], user)
local standing = unreadMark and tonumber(string.match(unreadMark, '^(%d+):')) == tonumber(redis.call('HGET', KEYS[5], user) or '0')
if ARGV[2] == '1' and not standing then
  local last = redis.call('XREVRANGE', KEYS[3], '(' .. ARGV[3] .. '-0', '-', 'COUNT', 1)
  local seen = redis.call('HGET', KEYS[4], user)
  -- Read state only moves forward: the user may have read further (sent, fetched old) since.
  if #last > 0 and (not seen or newer(last[1][1], seen)) then
    seen = last[1][1]
    moved = seen
    redis.call('HSET', KEYS[4], user, seen)
  end
  local after = redis.call('XRANGE', KEYS[3], seen and ('(' .. seen) or '-', '+', 'COUNT', 10000)
  local seq = tonumber(redis.call('GET', KEYS[6]) or '0')
  local mark = tonumber(redis.call('HGET', KEYS[5], user) or '0')
  redis.call('HSET', KEYS[5], user, math.max(mark, seq - #after))
end
return {user, left, redis.call('HGET', KEYS[10], user) or '', moved, redis.call('SCARD', KEYS[8])}`,
  }),
  hcConnections: defineScript({
    // Answers {conns flat, batched ids, signals ids, users whose last connection expired (flat)}.
    keys: PRUNE_KEYS,
    args: ['nowMs'],
    lua: `${PRUNE}
local departed = prune(ARGV[1])
return {redis.call('HGETALL', KEYS[1]), redis.call('SMEMBERS', KEYS[3]), redis.call('SMEMBERS', KEYS[4]), departed}`,
  }),
  hcPresence: defineScript({
    // Answers {users whose last connection expired (flat), online users with their profiles (flat),
    // signals connections}.
    keys: PRUNE_KEYS,
    args: ['nowMs'],
    lua: `${PRUNE}
local departed = prune(ARGV[1])
local online = {}
for _, user in ipairs(redis.call('HKEYS', KEYS[5])) do
  table.insert(online, user)
  table.insert(online, redis.call('HGET', KEYS[6], user) or '')
end
return {departed, online, redis.call('SCARD', KEYS[4])}`,
  }),
  hcReadMarks: defineScript({
    // One page of the members' read marks: HSCAN of `seen` from `cursor`, skipping the first `skip`
    // pairs of its batch (a page that filled inside a batch resumes there), at most `limit` marks
    // and `rounds` HSCAN calls of COUNT `limit`, so a page costs the same whatever the room size.
    // Answers {marks flat (user, id, profile JSON or ''), next cursor ('0': done), next skip}.
    keys: ['seen', 'members', 'profiles'],
    args: ['cursor', 'skip', 'limit', 'rounds'],
    lua: `
local cursor, skip, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local marks = {}
local taken = 0
for _ = 1, tonumber(ARGV[4]) do
  local answer = redis.call('HSCAN', KEYS[1], cursor, 'COUNT', limit)
  local flat = answer[2]
  local i = skip
  while i < #flat / 2 and taken < limit do
    local user = flat[2 * i + 1]
    if redis.call('SISMEMBER', KEYS[2], user) == 1 then
      table.insert(marks, user)
      table.insert(marks, flat[2 * i + 2])
      table.insert(marks, redis.call('HGET', KEYS[3], user) or '')
      taken = taken + 1
    end
    i = i + 1
  end
  if i < #flat / 2 then return {marks, cursor, i} end
  cursor, skip = answer[1], 0
  if cursor == '0' or taken >= limit then break end
end
return {marks, cursor, 0}`,
  }),
  hcEphemeral: defineScript({
    // Answers {claimed 1/0, signals connections, members}.
    keys: ['ephemeral', 'signals', 'members'],
    args: ['intervalMs'],
    lua: `
local claimed = redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1])
return {claimed and 1 or 0, redis.call('SCARD', KEYS[2]), redis.call('SCARD', KEYS[3])}`,
  }),
  hcAppend: defineScript({
    // Answers {id, data, 0} stored, {id, data, 1} a duplicate, {false, false, 2, ttl} over the limit,
    // {false, false, 3, 'ban'|'mute', until ms} a restricted sender (a duplicate is answered first),
    // {false, false, 4} a `parentId` that names no root of the room (a reply's root must be in the
    // log and be no reply itself); a stored reply answers {id, data, 0, false, its root's summary}.
    // Unread counts are derived (room seq - reader's mark), so a message costs O(1) whatever the room size.
    // `mentioned`: the asked mentions (a JSON array, '' for none); `membersOnly` '1' keeps members
    // only. The kept ones end the stored JSON; each but the sender's gets a mention entry.
    // `moderation` and `nowMs`: a sender muted or banned at `nowMs` is refused.
    keys: [
      'log',
      'seq',
      'seen',
      'mark',
      'idempotency',
      'rate',
      'members',
      'mentions',
      'moderation',
      'threads',
      'threadReplies',
      'threadActivity',
      'threadMarks',
    ],
    args: [
      'data',
      'sender',
      'maxlen',
      'idemTtl',
      'useIdem',
      'limit',
      'window',
      'mentioned',
      'membersOnly',
      'nowMs',
      'parentId',
    ],
    lua: `${MENTIONS}${THREAD_APPEND}
if ARGV[5] == '1' then
  local existing = redis.call('GET', KEYS[5])
  if existing then
    local entry = redis.call('XRANGE', KEYS[1], existing, existing)
    if #entry > 0 then return {existing, entry[1][2][2], 1} end
  end
end
${restrictedSenderLua('KEYS[9]', 'ARGV[2]', 'ARGV[10]')}
if ARGV[11] ~= '' and parent_refused(KEYS[1], ARGV[11]) then return {false, false, 4} end
if ARGV[6] ~= '0' then
  local count = redis.call('INCR', KEYS[6])
  if count == 1 then redis.call('EXPIRE', KEYS[6], ARGV[7]) end
  if count > tonumber(ARGV[6]) then return {false, false, 2, redis.call('TTL', KEYS[6])} end
end
local data = ARGV[1]
local kept = {}
if ARGV[8] ~= '' then
  for _, user in ipairs(cjson.decode(ARGV[8])) do
    if ARGV[9] ~= '1' or redis.call('SISMEMBER', KEYS[7], user) == 1 then table.insert(kept, user) end
  end
  if #kept > 0 then data = string.sub(data, 1, -2) .. ',"mentions":' .. cjson.encode(kept) .. '}' end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'd', data)
local seq = redis.call('INCR', KEYS[2])
if ARGV[5] == '1' then redis.call('SET', KEYS[5], id, 'EX', ARGV[4]) end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[2], seq)
  redis.call('HSET', KEYS[3], ARGV[2], id)
end
for _, user in ipairs(kept) do
  if user ~= ARGV[2] then
    redis.call('ZADD', KEYS[8], 0, mentionEntry(user, seq))
    -- Mentions as old as the log's bound are forgotten with their messages.
    local oldest = seq - tonumber(ARGV[3])
    if oldest > 0 then redis.call('ZREMRANGEBYLEX', KEYS[8], '[' .. user .. NUL, '(' .. mentionEntry(user, oldest)) end
  end
end
local replies = false
if ARGV[11] ~= '' then
  replies = add_reply(KEYS[1], KEYS[10], KEYS[11], KEYS[12], KEYS[13], ARGV[11], id, ARGV[2])
end
return {id, data, 0, false, replies}`,
  }),
  hcRecall: defineScript({
    // Answers {id, data} of the message an idempotency key stored, or false: the check of hcAppend
    // without the append, for a retry that must be answered before the moderation hook is asked.
    keys: ['log', 'idempotency'],
    args: [],
    lua: `local existing = redis.call('GET', KEYS[2])
if not existing then return false end
local entry = redis.call('XRANGE', KEYS[1], existing, existing)
if #entry == 0 then return false end
return {existing, entry[1][2][2]}`,
  }),
  hcRetract: defineScript({
    // `mentioned`: the message's kept mentions (a JSON array, '' for none); their entries go too.
    // `parentId` '' for a message that is no reply.
    keys: ['log', 'seq', 'idempotency', 'mentions', 'threads', 'threadReplies', 'threadActivity'],
    args: ['id', 'mentioned', 'parentId'],
    lua: `${MENTIONS}${THREAD_RETRACT}
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[3])
if ARGV[2] ~= '' then
  local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
  for _, user in ipairs(cjson.decode(ARGV[2])) do redis.call('ZREM', KEYS[4], mentionEntry(user, seq)) end
end
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
if ARGV[3] ~= '' then drop_reply(KEYS[5], KEYS[6], KEYS[7], ARGV[3], ARGV[1]) end
return 1`,
  }),
  hcRead: defineScript({
    keys: ['log', 'seen', 'mark', 'seq', 'edits', 'reactions', 'threads'],
    args: ['userId', 'start'],
    lua: `${OVERLAY}
local seen = redis.call('HGET', KEYS[2], ARGV[1])
local entries = overlay(redis.call('XRANGE', KEYS[1], ARGV[2], '+'), KEYS[5], KEYS[6], KEYS[7])
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then redis.call('HSET', KEYS[2], ARGV[1], last[1][1]) end
redis.call('HSET', KEYS[3], ARGV[1], redis.call('GET', KEYS[4]) or 0)
return {seen or false, entries}`,
  }),
  hcPage: defineScript({
    // `markRead` '1' marks the room read.
    // One more than asked tells whether more match without a second call. Answers {seen, entries,
    // more, the new read mark when markRead moved it, signals connections}.
    keys: ['log', 'seen', 'mark', 'seq', 'signals', 'edits', 'reactions', 'threads'],
    args: ['userId', 'end', 'start', 'count', 'markRead'],
    lua: `${OVERLAY}
local seen = redis.call('HGET', KEYS[2], ARGV[1])
local entries = redis.call('XREVRANGE', KEYS[1], ARGV[2], ARGV[3], 'COUNT', tonumber(ARGV[4]) + 1)
local more = 0
if #entries > tonumber(ARGV[4]) then
  more = 1
  table.remove(entries)
end
overlay(entries, KEYS[6], KEYS[7], KEYS[8])
local moved = false
if ARGV[5] == '1' then
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if #last > 0 then
    if last[1][1] ~= seen then moved = last[1][1] end
    redis.call('HSET', KEYS[2], ARGV[1], last[1][1])
  end
  redis.call('HSET', KEYS[3], ARGV[1], redis.call('GET', KEYS[4]) or 0)
end
return {seen or false, entries, more, moved, redis.call('SCARD', KEYS[5])}`,
  }),
  hcLatest: defineScript({
    // Answers {unread, entries, mentions}.
    keys: ['log', 'members', 'mark', 'seq', 'edits', 'reactions', 'mentions', 'mentionFrom', 'threads'],
    args: ['userId', 'limit'],
    lua: `${OVERLAY}${MENTIONS}
local entries = {}
if tonumber(ARGV[2]) > 0 then
  entries = overlay(redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[2]), KEYS[5], KEYS[6], KEYS[9])
end
local unread, mentions = 0, 0
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  unread = math.max(0, tonumber(redis.call('GET', KEYS[4]) or '0') - tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0'))
  mentions = mentionsOf(ARGV[1], KEYS[7], KEYS[8], KEYS[3])
end
return {unread, entries, mentions}`,
  }),
  hcCount: defineScript({
    // `slide` '1': the TTL restarts with every count, else with the first.
    // Answers {count, seconds left}.
    keys: ['counter'],
    args: ['ttlSeconds', 'slide'],
    lua: `
local count = redis.call('INCR', KEYS[1])
if count == 1 or ARGV[2] == '1' then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('TTL', KEYS[1])}`,
  }),
  hcAddMembers: defineScript({
    // ARGV: the user ids (new members start with nothing unread).
    keys: ['members', 'mark', 'seq'],
    variadic: true,
    lua: `
local seq = redis.call('GET', KEYS[3]) or 0
for i = 1, #ARGV do
  redis.call('SADD', KEYS[1], ARGV[i])
  redis.call('HSETNX', KEYS[2], ARGV[i], seq)
end
return #ARGV`,
  }),
  hcRemoveMembers: defineScript({
    // ARGV: the user ids. Answers {removed connections flat (id, user), users who so went offline
    // flat (user, profile), signals connections left}.
    keys: ['members', 'conns', 'expiry', 'batched', 'signals', 'tabs', 'profiles'],
    variadic: true,
    lua: `${DEPART}
local removed = {}
local departed = {}
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
    redis.call('SREM', KEYS[5], conns[i])
    table.insert(removed, conns[i])
    table.insert(removed, conns[i + 1])
    if depart(KEYS[6], conns[i + 1]) then
      table.insert(departed, conns[i + 1])
      table.insert(departed, redis.call('HGET', KEYS[7], conns[i + 1]) or '')
    end
  end
end
return {removed, departed, redis.call('SCARD', KEYS[5])}`,
  }),
} as const;

/** Name of a script command. */
export type ScriptName = keyof typeof scripts;
