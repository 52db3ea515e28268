import { defineScript } from './redis-script-spec.js';

/**
 * Scripts of followers (connections that follow rooms by subscribing) and unread watchers. A
 * follower's record is one string, `F <rooms, space-separated>\n<identity and options as JSON>`:
 * the rooms line is rewritten without decoding the JSON (Lua's cjson would renumber a profile's
 * large ids), and the `F` tells it from a single-room connection's record (JSON).
 */

// Reads the record in KEYS[1]: its rooms and the rest (the newline and the JSON), or nil.
const READ_RECORD = `
local function readRecord()
  local raw = redis.call('GET', KEYS[1])
  if not raw or string.sub(raw, 1, 2) ~= 'F ' then return nil end
  local newline = string.find(raw, '\\n', 1, true)
  local rooms = {}
  for room in string.gmatch(string.sub(raw, 3, newline - 1), '%S+') do table.insert(rooms, room) end
  return rooms, string.sub(raw, newline)
end
local function writeRecord(rooms, rest)
  redis.call('SET', KEYS[1], 'F ' .. table.concat(rooms, ' ') .. rest, 'KEEPTTL')
end
`;

export const followerScripts = {
  hcHome: defineScript({
    // Writes a single-room connection's record, unless the connection is a follower.
    keys: ['record'],
    args: ['home', 'ttlSeconds'],
    lua: `
local raw = redis.call('GET', KEYS[1])
if raw and string.sub(raw, 1, 2) == 'F ' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1`,
  }),
  hcForgetHome: defineScript({
    // Drops a single-room connection's record; a follower's stays until the follower closes.
    keys: ['record'],
    lua: `
local raw = redis.call('GET', KEYS[1])
if raw and string.sub(raw, 1, 2) == 'F ' then return 0 end
return redis.call('DEL', KEYS[1])`,
  }),
  hcFollow: defineScript({
    // Answers 'added', 'following' (already), 'full' (at maxRooms) or 'unknown' (no record).
    keys: ['record'],
    args: ['room', 'maxRooms'],
    lua: `${READ_RECORD}
local rooms, rest = readRecord()
if not rooms then return 'unknown' end
for _, room in ipairs(rooms) do
  if room == ARGV[1] then return 'following' end
end
if #rooms >= tonumber(ARGV[2]) then return 'full' end
table.insert(rooms, ARGV[1])
writeRecord(rooms, rest)
return 'added'`,
  }),
  hcUnfollow: defineScript({
    // Answers 1 when the room was followed (and is no more), else 0.
    keys: ['record'],
    args: ['room'],
    lua: `${READ_RECORD}
local rooms, rest = readRecord()
if not rooms then return 0 end
for i, room in ipairs(rooms) do
  if room == ARGV[1] then
    table.remove(rooms, i)
    writeRecord(rooms, rest)
    return 1
  end
end
return 0`,
  }),
  hcWatch: defineScript({
    // A later expiry wins: the user watches as long as their latest watching connection lives.
    keys: ['watching'],
    args: ['userId', 'expiresAtMs'],
    lua: `
local known = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > known then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1`,
  }),
  hcWatchers: defineScript({
    // Answers {user, unread count, ...} of the live watchers who are members; forgets expired ones.
    // Unread counts are derived as everywhere: the room's seq less the reader's mark.
    keys: ['watching', 'members', 'mark', 'seq'],
    args: ['nowMs'],
    lua: `
local flat = redis.call('HGETALL', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[4]) or '0')
local now = tonumber(ARGV[1])
local watchers, expired = {}, {}
for i = 1, #flat, 2 do
  local user = flat[i]
  if tonumber(flat[i + 1]) <= now then
    table.insert(expired, user)
  elseif redis.call('SISMEMBER', KEYS[2], user) == 1 then
    table.insert(watchers, user)
    table.insert(watchers, math.max(0, seq - tonumber(redis.call('HGET', KEYS[3], user) or '0')))
  end
end
if #expired > 0 then redis.call('HDEL', KEYS[1], unpack(expired)) end
return watchers`,
  }),
} as const;
