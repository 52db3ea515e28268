/**
 * Lua of replies and threads (see `thread-store.ts`). A message id pads to 16 + 16 digits (33 bytes)
 * in the sorted sets, so byte order is id order and a root's entries (or every entry of the roots
 * the log trimmed) go with one range:
 * - `threads`: hash rootId -> `{"count":N,"lastId":"<id>"}`, overlaid on the root when the log is read;
 * - `threadReplies`: `<padded root>\0<padded reply>\0<sender>` (a root's replies, and who sent them);
 * - `threadActivity`: `<padded newest reply>\0<root>` (threads by latest activity);
 * - `threadMarks`: `<padded root>\0<user>\0<padded reply>` (each user's thread read marks).
 * All live in the room's slot.
 */
import { OVERLAY } from './redis-change-scripts.js';
import { defineScript } from './redis-script-spec.js';

/** `pad(id)` and `unpad(padded)`: a message id and its 33-byte form. */
export const PAD = `
local function pad(id)
  local ms, seq = string.match(id, '(%d+)-(%d+)')
  return string.rep('0', 16 - #ms) .. ms .. '-' .. string.rep('0', 16 - #seq) .. seq
end
local function unpad(padded)
  local ms, seq = string.match(padded, '^0*(%d+)-0*(%d+)$')
  return ms .. '-' .. seq
end
local function is_reply(data)
  local ok, decoded = pcall(cjson.decode, data)
  return ok and type(decoded) == 'table' and decoded.parentId ~= nil
end
`;

/**
 * `forget_thread(threads, replies, activity, marks, root, member)`: drops a thread whose root the
 * log trimmed (`member` its activity entry).
 */
const FORGET_THREAD = `
local function forget_thread(threads, replies, activity, marks, root, member)
  local lead = pad(root)
  redis.call('HDEL', threads, root)
  redis.call('ZREM', activity, member)
  redis.call('ZREMRANGEBYLEX', replies, '[' .. lead .. '\\0', '(' .. lead .. '\\1')
  redis.call('ZREMRANGEBYLEX', marks, '[' .. lead .. '\\0', '(' .. lead .. '\\1')
end
local function set_mark(marks, lead, user, padded)
  redis.call('ZREMRANGEBYLEX', marks, '[' .. lead .. user .. '\\0', '(' .. lead .. user .. '\\1')
  redis.call('ZADD', marks, 0, lead .. user .. '\\0' .. padded)
end
`;

/**
 * Lua the append script runs, given `log, threads, replies, activity, marks` keys:
 * `parent_refused(log, parent)` is true unless `parent` is a message of the log that is no reply;
 * `add_reply(...)` records reply `id` of `sender` under `parent` and answers the root's new summary
 * (JSON), and forgets a few threads whose every message the log trimmed (bounded work per reply).
 */
export const THREAD_APPEND = `${PAD}${FORGET_THREAD}
local function parent_refused(log, parent)
  local entry = redis.call('XRANGE', log, parent, parent)
  return #entry == 0 or is_reply(entry[1][2][2])
end
local function add_reply(log, threads, replies, activity, marks, parent, id, sender)
  local count = 1
  local old = redis.call('HGET', threads, parent)
  if old then
    local summary = cjson.decode(old)
    count = summary.count + 1
    redis.call('ZREM', activity, pad(summary.lastId) .. '\\0' .. parent)
  end
  local summary = cjson.encode({count = count, lastId = id})
  local lead = pad(parent) .. '\\0'
  redis.call('HSET', threads, parent, summary)
  redis.call('ZADD', activity, 0, pad(id) .. '\\0' .. parent)
  redis.call('ZADD', replies, 0, lead .. pad(id) .. '\\0' .. sender)
  if sender ~= '' then set_mark(marks, lead, sender, pad(id)) end
  local oldest = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)
  if #oldest > 0 then
    local floor = pad(oldest[1][1])
    for _, member in ipairs(redis.call('ZRANGEBYLEX', activity, '-', '(' .. floor, 'LIMIT', 0, 8)) do
      forget_thread(threads, replies, activity, marks, string.sub(member, 35), member)
    end
    redis.call('ZREMRANGEBYLEX', replies, '-', '(' .. floor)
    redis.call('ZREMRANGEBYLEX', marks, '-', '(' .. floor)
  end
  return summary
end
`;

/**
 * Lua the retract script runs: `drop_reply(threads, replies, activity, parent, id)` takes reply
 * `id` back from its root's summary and index.
 */
export const THREAD_RETRACT = `${PAD}
local function drop_reply(threads, replies, activity, parent, id)
  local lead = pad(parent) .. '\\0'
  redis.call('ZREMRANGEBYLEX', replies, '[' .. lead .. pad(id) .. '\\0', '(' .. lead .. pad(id) .. '\\1')
  local old = redis.call('HGET', threads, parent)
  if not old then return end
  local summary = cjson.decode(old)
  redis.call('ZREM', activity, pad(summary.lastId) .. '\\0' .. parent)
  local last = redis.call('ZREVRANGEBYLEX', replies, '(' .. pad(parent) .. '\\1', '[' .. lead, 'LIMIT', 0, 1)
  if summary.count <= 1 or #last == 0 then
    redis.call('HDEL', threads, parent)
    return
  end
  local lastId = unpad(string.sub(last[1], 35, 67))
  redis.call('HSET', threads, parent, cjson.encode({count = summary.count - 1, lastId = lastId}))
  redis.call('ZADD', activity, 0, pad(lastId) .. '\\0' .. parent)
end
`;

export const threadScripts = {
  hcThread: defineScript({
    // `upper` is the exclusive upper bound of the page in `threadReplies`. Answers {1} no such
    // message, {2} a reply, else {0, root entry, reply entries newest first, more 1/0}.
    keys: ['log', 'edits', 'reactions', 'threads', 'threadReplies', 'threadMarks'],
    args: ['rootId', 'upper', 'count', 'userId', 'markRead'],
    lua: `${OVERLAY}${PAD}${FORGET_THREAD}
local root = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #root == 0 then return {1} end
if is_reply(root[1][2][2]) then return {2} end
local lead = pad(ARGV[1]) .. '\\0'
local count = tonumber(ARGV[3])
local members = redis.call('ZREVRANGEBYLEX', KEYS[5], ARGV[2], '[' .. lead, 'LIMIT', 0, count + 1)
local more = 0
if #members > count then
  more = 1
  table.remove(members)
end
local entries = {}
for _, member in ipairs(members) do
  local id = unpad(string.sub(member, 35, 67))
  local entry = redis.call('XRANGE', KEYS[1], id, id)
  if #entry > 0 then table.insert(entries, entry[1]) end
end
overlay(root, KEYS[2], KEYS[3], KEYS[4])
overlay(entries, KEYS[2], KEYS[3], KEYS[4])
if ARGV[5] == '1' then
  local newest = redis.call('ZREVRANGEBYLEX', KEYS[5], '(' .. pad(ARGV[1]) .. '\\1', '[' .. lead, 'LIMIT', 0, 1)
  if #newest > 0 then set_mark(KEYS[6], lead, ARGV[4], string.sub(newest[1], 35, 67)) end
end
return {0, root[1], entries, more}`,
  }),
  hcThreads: defineScript({
    // Walks threads newest activity first; a thread whose root the log trimmed is forgotten on the
    // way (at most `limit` + 100 looked at). Answers flat {root entry, summary JSON, unread, ...}.
    keys: ['log', 'edits', 'reactions', 'threads', 'threadReplies', 'threadActivity', 'threadMarks'],
    args: ['userId', 'limit'],
    lua: `${OVERLAY}${PAD}${FORGET_THREAD}
local user, limit = ARGV[1], tonumber(ARGV[2])
local found = {}
local taken, looked = 0, 0
local cursor = '+'
while taken < limit and looked < limit + 100 do
  local batch = redis.call('ZREVRANGEBYLEX', KEYS[6], cursor, '-', 'LIMIT', 0, limit - taken)
  if #batch == 0 then break end
  for _, member in ipairs(batch) do
    looked = looked + 1
    cursor = '(' .. member
    local rootId = string.sub(member, 35)
    local root = redis.call('XRANGE', KEYS[1], rootId, rootId)
    local summary = redis.call('HGET', KEYS[4], rootId)
    if #root == 0 or not summary then
      forget_thread(KEYS[4], KEYS[5], KEYS[6], KEYS[7], rootId, member)
    else
      local lead = pad(rootId) .. '\\0'
      local from = '[' .. lead
      local mark = redis.call('ZRANGEBYLEX', KEYS[7], '[' .. lead .. user .. '\\0', '(' .. lead .. user .. '\\1', 'LIMIT', 0, 1)
      if #mark > 0 then from = '[' .. lead .. string.sub(mark[1], #lead + #user + 2) .. '\\1' end
      local unread = 0
      for _, reply in ipairs(redis.call('ZRANGEBYLEX', KEYS[5], from, '(' .. pad(rootId) .. '\\1')) do
        if string.sub(reply, 69) ~= user then unread = unread + 1 end
      end
      overlay(root, KEYS[2], KEYS[3], KEYS[4])
      table.insert(found, root[1])
      table.insert(found, summary)
      table.insert(found, unread)
      taken = taken + 1
    end
  end
end
return found`,
  }),
} as const;
