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
-- A commit that wrote is also published on the channel ARGV[5]
-- (branch/live/follow.py), in the very order the commits landed, when anyone but
-- the committing node listens there: the other nodes bring their kept snapshots
-- up to it and so commit their next step in one round trip too. An
-- announcement is only a guess for them, as any kept snapshot: the version
-- check decides.
--
-- Run with commit.lua and read.lua put before this text as the bodies of the
-- functions `commit` and `read` (branch/live/scripts.py), which take their
-- parts of KEYS and ARGV where they are: nothing is copied on the way in.
--
-- KEYS[1..c]             commit.lua's KEYS (version, epoch, commit:<token>, the keys changed)
-- KEYS[c+1..]            read.lua's KEYS
-- ARGV[1]                c: how many of KEYS are the commit's
-- ARGV[2]                a: how many of ARGV after these five are the commit's
-- ARGV[3]                k: how many contact ids end ARGV
-- ARGV[4]                h: the heads of each line the read wants when the commit is the
--                        last one (read.lua's "=<h>", handed to it as a number; ignored
--                        when it reads no heads)
-- ARGV[5]                the channel to announce the commit on ("" for none)
-- ARGV[6..5+a]           commit.lua's ARGV
-- ARGV[6+a..#ARGV-k]     read.lua's ARGV
-- ARGV[#ARGV-k+1..]      the contacts whose entries the node holds as its commit leaves them
--
-- Returns {the commit's reply (the new version, or -1 when refused), the read, whole},
-- when the commit was refused or the call is a repeat (its token found: another
-- commit may have followed it);
-- otherwise {the new version, {services not named (as read.lua), contact ids
-- read, the entries of those not among the k, in that order}, 1}; the
-- announcement then is the JSON array [the new version, commit.lua's KEYS,
-- commit.lua's ARGV]. A commit's
-- error (a malformed change list) is returned as the error, with nothing
-- written and nothing read.

local c, a, k, h = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if c == nil or a == nil or k == nil or h == nil or c < 3 or c > #KEYS or a < 3 or k < 0
    or h < 0 or c % 1 ~= 0 or a % 1 ~= 0 or k % 1 ~= 0 or h % 1 ~= 0 or 5 + a + k > #ARGV then
  return redis.error_reply('step: ARGV[1..4] do not split KEYS and ARGV: ' .. tostring(ARGV[1])
    .. ', ' .. tostring(ARGV[2]) .. ', ' .. tostring(ARGV[3]) .. ', ' .. tostring(ARGV[4]))
end
local landed, wrote = commit(KEYS, ARGV, c, 5, 5 + a)
if type(landed) == 'table' and landed.err then
  return landed
end
-- A commit that wrote is the last one: nothing runs between it and this read. A
-- repeated call (its token found) may have been followed by others: read whole.
if not wrote then
  return {landed, read(KEYS, ARGV, c, 5 + a, nil), 0}
end
local channel = ARGV[5]
-- The committing node listens too: alone, it would only be told its own commit.
if channel ~= '' and redis.call('PUBSUB', 'NUMSUB', channel)[2] > 1 then
  -- Copied only here, for the announcement: by index, as unpack() of a long list
  -- would pass more values than Lua allows.
  local commit_keys, commit_argv = {}, {}
  for index = 1, c do
    commit_keys[index] = KEYS[index]
  end
  for index = 1, a do
    commit_argv[index] = ARGV[5 + index]
  end
  redis.call('PUBLISH', channel, cjson.encode({landed, commit_keys, commit_argv}))
end
-- The read's heads are the node's count, unless it asked for none.
local floor = read(KEYS, ARGV, c, 5 + a, ARGV[6 + a] == '0' and 0 or h)
if floor.err then
  return floor
end
local contacts, texts = floor[8], floor[9]
if k == 0 then
  return {landed, {floor[7], contacts, texts}, 1}
end
local held, fresh = {}, {}
for index = #ARGV - k + 1, #ARGV do
  held[ARGV[index]] = true
end
for index = 1, #contacts do
  if not held[contacts[index]] then
    fresh[#fresh + 1] = texts[index]
  end
end
return {landed, {floor[7], contacts, fresh}, 1}
