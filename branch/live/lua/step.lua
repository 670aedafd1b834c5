-- One floor step in one round trip: commit what the step changed (commit.lua),
-- then read the floor as the node's next step will want it (read.lua). Both run
-- in this one script, so the read sees exactly the floor the commit left (or,
-- when the commit was refused, the floor that refused it) and nobody's write
-- comes in between. The node keeps that snapshot and runs its next step on it
-- without reading first; the commit's version check refuses it if anyone
-- committed since.
--
-- When the commit landed and is still the last one, the floor the node read
-- plus its own changes is the floor here, so the executives, calls, counters
-- and the entries it already holds are not sent back: only the contacts read
-- and the entries of those it does not hold. Whether that is so is decided here,
-- by the version, never by the node.
--
-- Run with commit.lua and read.lua put before this text as the bodies of the
-- functions `commit(KEYS, ARGV)` and `read(KEYS, ARGV)` (branch/live/redisstore.py).
--
-- KEYS[1..c]             commit.lua's KEYS (version, epoch, commit:<token>, the keys changed)
-- KEYS[c+1..]            read.lua's KEYS
-- ARGV[1]                c: how many of KEYS are the commit's
-- ARGV[2]                a: how many of ARGV after these three are the commit's
-- ARGV[3]                k: how many contact ids end ARGV
-- ARGV[4..3+a]           commit.lua's ARGV
-- ARGV[4+a..#ARGV-k]     read.lua's ARGV
-- ARGV[#ARGV-k+1..]      the contacts whose entries the node holds as its commit leaves them
--
-- Returns {the commit's reply (the new version, or -1 when refused), the read, whole},
-- when the commit was refused or another commit followed it (a repeated call);
-- otherwise {the new version, {services not named (as read.lua), contact ids
-- read, the entries of those not among the k, in that order}, 1}. A commit's
-- error (a malformed change list) is returned as the error, with nothing
-- written and nothing read.

local c, a, k = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if c == nil or a == nil or k == nil or c < 3 or c > #KEYS or a < 3 or k < 0 or 3 + a + k > #ARGV then
  return redis.error_reply('step: ARGV[1..3] do not split KEYS and ARGV: '
    .. tostring(ARGV[1]) .. ', ' .. tostring(ARGV[2]) .. ', ' .. tostring(ARGV[3]))
end
local commit_keys, read_keys, commit_argv, read_argv, held = {}, {}, {}, {}, {}
for index = 1, #KEYS do
  if index <= c then
    commit_keys[#commit_keys + 1] = KEYS[index]
  else
    read_keys[#read_keys + 1] = KEYS[index]
  end
end
for index = 4, #ARGV - k do
  if index <= 3 + a then
    commit_argv[#commit_argv + 1] = ARGV[index]
  else
    read_argv[#read_argv + 1] = ARGV[index]
  end
end
for index = #ARGV - k + 1, #ARGV do
  held[ARGV[index]] = true
end
local landed = commit(commit_keys, commit_argv)
if type(landed) == 'table' and landed.err then
  return landed
end
local floor = read(read_keys, read_argv)
if landed == -1 or tonumber(redis.call('GET', KEYS[1])) ~= landed then
  return {landed, floor, 0}
end
local contacts, texts, fresh = floor[8], floor[9], {}
for index = 1, #contacts do
  if not held[contacts[index]] then
    fresh[#fresh + 1] = texts[index]
  end
end
return {landed, {floor[7], contacts, fresh}, 1}
