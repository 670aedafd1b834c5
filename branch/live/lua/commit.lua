-- Commit one floor step: apply its changes only if nobody committed since the
-- step read the floor, then bump the version. All or nothing, and at most once.
--
-- The body of `commit(KEYS, ARGV, last_key, at, last_arg)` (branch/live/scripts.py):
-- its KEYS are KEYS[1..last_key] and its ARGV[n] is ARGV[at + n] up to ARGV[last_arg],
-- so step.lua hands over its own arguments without copying them; alone, the
-- script is called with (#KEYS, 0, #ARGV). Positions below are the commit's own.
--
-- KEYS[1]      version: string, the floor's commit counter (missing = 0)
-- KEYS[2]      epoch: string, the id of this Redis's life (changes when it restarts empty)
-- KEYS[3]      commit:<token>: string, this commit's new version once it has landed
-- KEYS[4..n]   every other key the changes touch; changes name them by index
-- ARGV[1]      the version the step read
-- ARGV[2]      the epoch the step read
-- ARGV[3]      how long to remember this commit's token, in seconds
-- ARGV[4..]    the changes, one after another, each "op, key index, operands":
--                hset K field value    hdel K field
--                zadd K score member   zrem K member
--                sadd K member         srem K member
--                set K value           del K
--                tidy K member Z       srem member from set K once sorted set Z is empty
--
-- Returns the new version, or -1 when the version moved or the epoch is not the
-- one read (nothing written). A call repeated after its reply was lost (the
-- client retries on a dropped connection) finds its token and returns the
-- version its first run committed, writing nothing again. A malformed change
-- list is an error and writes nothing either. A commit that wrote also returns
-- a second value, true, for step.lua; Redis keeps only the first of a script's.

local read = tonumber(ARGV[at + 1])
if read == nil then
  return redis.error_reply('commit: ARGV[1] is not a version: ' .. tostring(ARGV[at + 1]))
end
-- One call for the three: each call from a script costs about as much as a small write.
local version_now, epoch_now, done = unpack(redis.call('MGET', KEYS[1], KEYS[2], KEYS[3]))
if done then
  return tonumber(done)
end
local ttl = tonumber(ARGV[at + 3])
if ttl == nil or ttl <= 0 or ttl % 1 ~= 0 then
  return redis.error_reply('commit: ARGV[3] is not a number of seconds: ' .. tostring(ARGV[at + 3]))
end
if tonumber(version_now or '0') ~= read then
  return -1
end
if (epoch_now or '') ~= ARGV[at + 2] then
  return -1
end

-- The whole list is checked before the first write, and each change's key looked
-- up once: `named[n]` is the key of the n-th change (tidy's sorted set follows it).
local ARITY = {hset = 2, hdel = 1, zadd = 2, zrem = 1, sadd = 1, srem = 1, set = 1, del = 0, tidy = 2}
local named, count = {}, 0
local i = at + 4
while i <= last_arg do
  local op = ARGV[i]
  local arity = ARITY[op]
  if arity == nil then
    return redis.error_reply('commit: unknown change ' .. tostring(op) .. ' at ARGV[' .. (i - at) .. ']')
  end
  if i + 1 + arity > last_arg then
    return redis.error_reply('commit: change ' .. op .. ' at ARGV[' .. (i - at) .. '] is cut short')
  end
  local slot, line = tonumber(ARGV[i + 1]), 4
  if op == 'tidy' then
    line = tonumber(ARGV[i + 3])
  end
  if slot == nil or slot < 4 or slot > last_key or slot % 1 ~= 0
      or line == nil or line < 4 or line > last_key or line % 1 ~= 0 then
    return redis.error_reply('commit: change ' .. op .. ' at ARGV[' .. (i - at) .. '] names no key in KEYS')
  end
  if op == 'zadd' and tonumber(ARGV[i + 2]) == nil then
    return redis.error_reply('commit: zadd at ARGV[' .. (i - at) .. '] has no numeric score')
  end
  if op == 'tidy' then
    count = count + 1
    named[count] = KEYS[line]
  end
  count = count + 1
  named[count] = KEYS[slot]
  i = i + 2 + arity
end

i, count = at + 4, 0
while i <= last_arg do
  local op = ARGV[i]
  count = count + 1
  local key = named[count]
  if op == 'hset' then
    redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  elseif op == 'hdel' then
    redis.call('HDEL', key, ARGV[i + 2])
    i = i + 3
  elseif op == 'zrem' then
    redis.call('ZREM', key, ARGV[i + 2])
    i = i + 3
  elseif op == 'zadd' then
    redis.call('ZADD', key, ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  elseif op == 'sadd' then
    redis.call('SADD', key, ARGV[i + 2])
    i = i + 3
  elseif op == 'srem' then
    redis.call('SREM', key, ARGV[i + 2])
    i = i + 3
  elseif op == 'set' then
    redis.call('SET', key, ARGV[i + 2])
    i = i + 3
  elseif op == 'del' then
    redis.call('DEL', key)
    i = i + 2
  else  -- tidy, its set's key after its sorted set's
    count = count + 1
    if redis.call('ZCARD', key) == 0 then
      redis.call('SREM', named[count], ARGV[i + 2])
    end
    i = i + 4
  end
end
local version = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[3], version, 'EX', ttl)
return version, true
