import { defineScript } from './redis-script-spec.js';

/**
 * Scripts of a room's restrictions (`hc:{room}:moderation`: field `<kind>:<user>` -> until when,
 * in ms). Both drop the entries past their deadline and keep the hash no longer than its latest
 * deadline, so a room's restrictions never outlive themselves.
 */

// Drops expired entries of KEYS[1] and sets its expiry to the latest deadline left; answers the
// live entries, flat (field, until).
const PRUNE_RESTRICTIONS = `
local function pruneRestrictions(now)
  local flat = redis.call('HGETALL', KEYS[1])
  local live = {}
  local expired = {}
  local latest = 0
  for i = 1, #flat, 2 do
    local untilMs = tonumber(flat[i + 1]) or 0
    if untilMs > now then
      table.insert(live, flat[i])
      table.insert(live, flat[i + 1])
      if untilMs > latest then latest = untilMs end
    else
      table.insert(expired, flat[i])
    end
  end
  if #expired > 0 then redis.call('HDEL', KEYS[1], unpack(expired)) end
  if latest > 0 then redis.call('PEXPIREAT', KEYS[1], latest) end
  return live
end
`;

export const moderationScripts = {
  hcRestrict: defineScript({
    // `untilMs` '0' (or past) lifts the restriction in `field`.
    keys: ['moderation'],
    args: ['field', 'untilMs', 'nowMs'],
    lua: `${PRUNE_RESTRICTIONS}
if tonumber(ARGV[2]) > tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
pruneRestrictions(tonumber(ARGV[3]))
return 1`,
  }),
  hcRestrictions: defineScript({
    // Answers the live restrictions, flat (field, until).
    keys: ['moderation'],
    args: ['nowMs'],
    lua: `${PRUNE_RESTRICTIONS}
return pruneRestrictions(tonumber(ARGV[1]))`,
  }),
} as const;

/**
 * The part of the append script that refuses a restricted sender: with `user` set, answers
 * {false, false, 3, kind, until} when a ban or mute of theirs in `moderation` ends after `now`.
 */
export function restrictedSenderLua(moderation: string, user: string, now: string): string {
  return `
if ${user} ~= '' then
  local held = redis.call('HMGET', ${moderation}, 'ban:' .. ${user}, 'mute:' .. ${user})
  local now = tonumber(${now})
  if held[1] and tonumber(held[1]) > now then return {false, false, 3, 'ban', held[1]} end
  if held[2] and tonumber(held[2]) > now then return {false, false, 3, 'mute', held[2]} end
end`;
}
