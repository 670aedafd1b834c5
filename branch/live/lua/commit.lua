-- Commit one floor step: apply its changes only if nobody committed since the
-- step read the floor, then bump the version. All or nothing, and at most once.
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
-- list is an error and writes nothing either. Called as a function (step.lua),
-- a commit that wrote also returns a second value, true; Redis keeps only the
-- first of a script's.

local ARITY = {hset = 2, hdel = 1, zadd = 2, zrem = 1, sadd = 1, srem = 1, set = 1, del = 0, tidy = 2}

local function key_at(slot)
  local index = tonumber(slot)
  if index == nil or index < 4 or index > #KEYS or index % 1 ~= 0 then
    return nil
  end
  return KEYS[index]
end

local read = tonumber(ARGV[1])
if read == nil then
  return redis.error_reply('commit: ARGV[1] is not a version: ' .. tostring(ARGV[1]))
end
-- One call for the three: each call from a script costs about as much as a small write.
local version_now, epoch_now, done = unpack(redis.call('MGET', KEYS[1], KEYS[2], KEYS[3]))
if done then
  return tonumber(done)
end
local ttl = tonumber(ARGV[3])
if ttl == nil or ttl <= 0 or ttl % 1 ~= 0 then
  return redis.error_reply('commit: ARGV[3] is not a number of seconds: ' .. tostring(ARGV[3]))
end
if tonumber(version_now or '0') ~= read then
  return -1
end
if (epoch_now or '') ~= ARGV[2] then
  return -1
end

local i = 4
while i <= #ARGV do
  local op = ARGV[i]
  local arity = ARITY[op]
  if arity == nil then
    return redis.error_reply('commit: unknown change ' .. tostring(op) .. ' at ARGV[' .. i .. ']')
  end
  if i + 1 + arity > #ARGV then
    return redis.error_reply('commit: change ' .. op .. ' at ARGV[' .. i .. '] is cut short')
  end
  if key_at(ARGV[i + 1]) == nil or (op == 'tidy' and key_at(ARGV[i + 3]) == nil) then
    return redis.error_reply('commit: change ' .. op .. ' at ARGV[' .. i .. '] names no key in KEYS')
  end
  if op == 'zadd' and tonumber(ARGV[i + 2]) == nil then
    return redis.error_reply('commit: zadd at ARGV[' .. i .. '] has no numeric score')
  end
  i = i + 2 + arity
end

i = 4
while i <= #ARGV do
  local op, key = ARGV[i], key_at(ARGV[i + 1])
  if op == 'hset' then
    redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3])
  elseif op == 'hdel' then
    redis.call('HDEL', key, ARGV[i + 2])
  elseif op == 'zadd' then
    redis.call('ZADD', key, ARGV[i + 2], ARGV[i + 3])
  elseif op == 'zrem' then
    redis.call('ZREM', key, ARGV[i + 2])
  elseif op == 'sadd' then
    redis.call('SADD', key, ARGV[i + 2])
  elseif op == 'srem' then
    redis.call('SREM', key, ARGV[i + 2])
  elseif op == 'set' then
    redis.call('SET', key, ARGV[i + 2])
  elseif op == 'del' then
    redis.call('DEL', key)
  elseif op == 'tidy' then
    if redis.call('ZCARD', key_at(ARGV[i + 3])) == 0 then
      redis.call('SREM', key, ARGV[i + 2])
    end
  end
  i = i + 2 + ARITY[op]
end
local version = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[3], version, 'EX', ttl)
return version, true
