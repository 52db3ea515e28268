import { defineScript } from './redis-script-spec.js';

/**
 * Mentions on Redis. A room's `mentions` sorted set (score 0, byte order) holds
 * `<userId>\0<the room's seq of the message, 15 digits>` for every message that mentions a user,
 * the sender's own mentions left out. A reader's mentions are the entries after their read
 * position: their `mark` (the room's seq when they last read everything), so every path that
 * resets the unread count resets the mentions too; after a mark unread, the seq before the
 * message marked unread, for as long as the mark it set stands (`mentionFrom`: `<mark>:<from>`).
 */
export const MENTIONS = `
local NUL, ONE = string.char(0), string.char(1)
local function mentionEntry(user, seq)
  return user .. NUL .. string.format('%015d', seq)
end
local function mentionsOf(user, mentionsKey, fromKey, markKey)
  local mark = tonumber(redis.call('HGET', markKey, user) or '0')
  local from = mark
  local pair = redis.call('HGET', fromKey, user)
  if pair then
    local m, f = string.match(pair, '^(%d+):(%d+)$')
    if tonumber(m) == mark then from = tonumber(f) end
  end
  return redis.call('ZLEXCOUNT', mentionsKey, '(' .. mentionEntry(user, from), '(' .. user .. ONE)
end
`;

/** Scripts of mentions and mark unread; each touches the keys of one room. */
export const mentionScripts = {
  hcMarkUnread: defineScript({
    // Answers false when `id` is not in the log, else {the read mark before it or false, unread
    // (others' messages from `id` on; 0 for a non-member), mentions among them, signals connections}.
    keys: ['log', 'seq', 'seen', 'mark', 'members', 'signals', 'mentions', 'mentionFrom'],
    args: ['userId', 'id'],
    lua: `${MENTIONS}
if #redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2]) == 0 then return false end
local after = redis.call('XRANGE', KEYS[1], ARGV[2], '+', 'COUNT', 10000)
local others = 0
for _, entry in ipairs(after) do
  local ok, message = pcall(cjson.decode, entry[2][2])
  if not ok or type(message) ~= 'table' or message.senderId ~= ARGV[1] then others = others + 1 end
end
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local mark = math.max(0, seq - others)
redis.call('HSET', KEYS[4], ARGV[1], mark)
redis.call('HSET', KEYS[8], ARGV[1], mark .. ':' .. math.max(0, seq - #after))
local before = redis.call('XREVRANGE', KEYS[1], '(' .. ARGV[2], '-', 'COUNT', 1)
local lastRead = false
if #before > 0 then
  lastRead = before[1][1]
  redis.call('HSET', KEYS[3], ARGV[1], lastRead)
else
  redis.call('HDEL', KEYS[3], ARGV[1])
end
local unread, mentions = 0, 0
if redis.call('SISMEMBER', KEYS[5], ARGV[1]) == 1 then
  unread = others
  mentions = mentionsOf(ARGV[1], KEYS[7], KEYS[8], KEYS[4])
end
return {lastRead, unread, mentions, redis.call('SCARD', KEYS[6])}`,
  }),
};
