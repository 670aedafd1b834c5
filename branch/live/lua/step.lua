-- One floor step in one round trip: commit what the step changed (commit.lua),
-- then read the floor as the node's next step will want it (read.lua). Both run
-- in this one script, so the read sees exactly the floor the commit left (or,
-- when the commit was refused, the floor that refused it) and nobody's write
-- comes in between. The node keeps that snapshot and runs its next step on it
-- without reading first; the commit's version check refuses it if anyone
-- committed since.
--
-- Run with commit.lua and read.lua put before this text as the bodies of the
-- functions `commit(KEYS, ARGV)` and `read(KEYS, ARGV)` (branch/live/redisstore.py).
--
-- KEYS[1..c]     commit.lua's KEYS (version, epoch, commit:<token>, the keys changed)
-- KEYS[c+1..]    read.lua's KEYS
-- ARGV[1]        c: how many of KEYS are the commit's
-- ARGV[2]        a: how many of ARGV after these two are the commit's
-- ARGV[3..2+a]   commit.lua's ARGV
-- ARGV[3+a..]    read.lua's ARGV
--
-- Returns {the commit's reply (the new version, or -1 when refused), the read's
-- reply}; a commit's error (a malformed change list) is returned as the error,
-- with nothing written and nothing read.

local c, a = tonumber(ARGV[1]), tonumber(ARGV[2])
if c == nil or a == nil or c < 3 or c > #KEYS or a < 3 or a > #ARGV - 2 then
  return redis.error_reply('step: ARGV[1..2] do not split KEYS and ARGV: ' .. tostring(ARGV[1]) .. ', ' .. tostring(ARGV[2]))
end
local commit_keys, read_keys, commit_argv, read_argv = {}, {}, {}, {}
for index = 1, #KEYS do
  if index <= c then
    commit_keys[#commit_keys + 1] = KEYS[index]
  else
    read_keys[#read_keys + 1] = KEYS[index]
  end
end
for index = 3, #ARGV do
  if index <= 2 + a then
    commit_argv[#commit_argv + 1] = ARGV[index]
  else
    read_argv[#read_argv + 1] = ARGV[index]
  end
end
local landed = commit(commit_keys, commit_argv)
if type(landed) == 'table' and landed.err then
  return landed
end
return {landed, read(read_keys, read_argv)}
