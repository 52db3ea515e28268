import { defineScript } from './redis-script-spec.js';

/** Scripts of folded signals (see signal-store.ts); each touches the keys of one room. */
export const signalScripts = {
  hcFold: defineScript({
    // `presence` '1': a change that undoes the pending one (a join, then a leave) cancels it.
    // Answers 'capped', 'schedule' (the gate was free: the caller schedules the flush) or 'pending'.
    lua: `
if redis.call('SCARD', KEYS[1]) > tonumber(ARGV[4]) then return 'capped' end
local earlier = ARGV[6] == '1' and redis.call('HGET', KEYS[2], ARGV[1])
if earlier and string.sub(earlier, 1, 1) ~= string.sub(ARGV[2], 1, 1) then
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
redis.call('PEXPIRE', KEYS[2], ARGV[5])
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[3]) then return 'schedule' end
return 'pending'`,
    keys: ['members', 'digest', 'gate'],
    args: ['field', 'value', 'gateMs', 'maxMembers', 'digestTtlMs', 'presence'],
  }),
  hcTakeDigest: defineScript({
    // Answers the digest, flat {field, value, ...}, and clears both.
    keys: ['digest', 'gate'],
    lua: `
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
return all`,
  }),
};
