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
-- and the entries of those it does not hold. Nor are the executives, calls and
-- counters read: the node says how many heads of each line its floor wants
-- (one more than its executives not in a call), which is then what read.lua
-- would count. Whether that is so is decided here, by the version, never by
-- the node.
--
-- Run with commit.lua and read.lua put before this text as the bodies of the
-- functions `commit(KEYS, ARGV)` and `read(KEYS, ARGV)` (branch/live/redisstore.py).
--
-- KEYS[1..c]             commit.lua's KEYS (version, epoch, commit:<token>, the keys changed)
-- KEYS[c+1..]            read.lua's KEYS
-- ARGV[1]                c: how many of KEYS are the commit's
-- ARGV[2]                a: how many of ARGV after these four are the commit's
-- ARGV[3]                k: how many contact ids end ARGV
-- ARGV[4]                h: the heads of each line the read wants when the commit is the
--                        last one (read.lua's "=<h>"; ignored when it reads no heads)
-- ARGV[5..4+a]           commit.lua's ARGV
-- ARGV[5+a..#ARGV-k]     read.lua's ARGV
-- ARGV[#ARGV-k+1..]      the contacts whose entries the node holds as its commit leaves them
--
-- Returns {the commit's reply (the new version, or -1 when refused), the read, whole},
-- when the commit was refused or the call is a repeat (its token found: another
-- commit may have followed it);
-- otherwise {the new version, {services not named (as read.lua), contact ids
-- read, the entries of those not among the k, in that order}, 1}. A commit's
-- error (a malformed change list) is returned as the error, with nothing
-- written and nothing read.

local c, a, k, h = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if c == nil or a == nil or k == nil or h == nil or c < 3 or c > #KEYS or a < 3 or k < 0
    or h < 0 or h % 1 ~= 0 or 4 + a + k > #ARGV then
  return redis.error_reply('step: ARGV[1..4] do not split KEYS and ARGV: ' .. tostring(ARGV[1])
    .. ', ' .. tostring(ARGV[2]) .. ', ' .. tostring(ARGV[3]) .. ', ' .. tostring(ARGV[4]))
end
-- Filled by index: this runs on every step, over some ninety arguments.
local commit_keys, read_keys, commit_argv, read_argv, held = {}, {}, {}, {}, {}
for index = 1, c do
  commit_keys[index] = KEYS[index]
end
for index = c + 1, #KEYS do
  read_keys[index - c] = KEYS[index]
end
for index = 5, 4 + a do
  commit_argv[index - 4] = ARGV[index]
end
for index = 5 + a, #ARGV - k do
  read_argv[index - 4 - a] = ARGV[index]
end
for index = #ARGV - k + 1, #ARGV do
  held[ARGV[index]] = true
end
local landed, wrote = commit(commit_keys, commit_argv)
if type(landed) == 'table' and landed.err then
  return landed
end
-- A commit that wrote is the last one: nothing runs between it and this read. A
-- repeated call (its token found) may have been followed by others: read whole.
if not wrote then
  return {landed, read(read_keys, read_argv), 0}
end
read_argv[1] = '=' .. (read_argv[1] == '0' and 0 or h)
local floor = read(read_keys, read_argv)
if floor.err then
  return floor
end
local contacts, texts, fresh = floor[8], floor[9], {}
for index = 1, #contacts do
  if not held[contacts[index]] then
    fresh[#fresh + 1] = texts[index]
  end
end
return {landed, {floor[7], contacts, fresh}, 1}
