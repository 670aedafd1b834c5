-- Read the part of the floor one step needs, in one round trip: a script runs
-- alone, so what it returns is one consistent snapshot (no version read twice).
-- What is read is what branch/live/snapshot.py describes: executives, calls and
-- the small counters whole, the citizens the step names, and the heads of each
-- line of present citizens (one more than the executives not in a call, plus
-- those a wait limit may end), or one whole line.
--
-- The body of `read(KEYS, ARGV, base, at, given_heads)` (branch/live/scripts.py): its
-- KEYS[n] is KEYS[base + n] and its ARGV[n] is ARGV[at + n], so step.lua hands over
-- its own arguments without copying them. `given_heads`, when not nil, stands for ARGV[1]'s
-- "=<heads>", which is then not read; alone, the script is called with (0, 0, nil).
-- Positions below are the read's own.
--
-- KEYS[1]  version: string       KEYS[6]   cursor: string
-- KEYS[2]  epoch: string         KEYS[7]   services: set
-- KEYS[3]  agents: hash          KEYS[8]   citizens: hash
-- KEYS[4]  calls: hash           KEYS[9]   entries: hash
-- KEYS[5]  answered: hash        KEYS[10]  absent: zset
-- KEYS[11..10+p]        present:<service> of the p services named in ARGV
-- KEYS[11+p..10+p+r]    waiting:<service> of the r line ranges named in ARGV
-- ARGV, in sections:
--   heads            "1" to read the heads of the lines, "0" not to; or "=<n>": n heads
--                    of each line (0: none), and the version, epoch, executives, calls,
--                    answered counts and cursor are not read (they come back empty):
--                    the caller holds them, as step.lua's does after a commit that is
--                    the last one
--   expired_before   absent citizens since at most this score, or "" for none
--   n, then n citizen ids
--   p, then p service codes (those of KEYS[11..10+p], in that order)
--   r, then r ranges, each "service, max score" (joined by then) or "service, all"
--
-- Returns {version, epoch, agents (flat hash), calls, answered, cursor,
-- services in the set but not named in ARGV (their heads were not read: the
-- caller names them and reads again), contact ids read, their entries (false
-- when missing)}.

local arg = at + 1
local function next_arg()
  local value = ARGV[arg]
  arg = arg + 1
  return value
end

local heads_arg = next_arg()
local known = given_heads  -- the count of heads, when the caller gives it
if known == nil and string.sub(heads_arg, 1, 1) == '=' then
  known = tonumber(string.sub(heads_arg, 2))
  if known == nil or known < 0 or known % 1 ~= 0 then
    return redis.error_reply('read: ARGV[1] is not a count of heads: ' .. heads_arg)
  end
end
local heads
if known == nil then
  heads = heads_arg == '1'
else
  heads = known > 0
end
local expired_before = next_arg()
local citizen_count = tonumber(next_arg())
if citizen_count == nil or citizen_count < 0 or citizen_count % 1 ~= 0 then
  return redis.error_reply('read: ARGV[3] is not a count of citizens: ' .. tostring(ARGV[at + 3]))
end
local first_citizen = arg  -- the citizens are read where they are in ARGV
arg = arg + citizen_count
local present_key = {}
local service_count = tonumber(next_arg())
for index = 1, service_count do
  present_key[next_arg()] = KEYS[base + 10 + index]
end

-- What the caller holds is not read: counting the executives means decoding each one.
local agents = known == nil and redis.call('HGETALL', KEYS[base + 3]) or {}
local wanted, order = {}, {}
local function want(contact_id)
  if contact_id and contact_id ~= '' and not wanted[contact_id] then
    wanted[contact_id] = true
    order[#order + 1] = contact_id
  end
end
if citizen_count > 0 then
  local named = redis.call('HMGET', KEYS[base + 8], unpack(ARGV, first_citizen, arg - 1))
  for _, contact_id in ipairs(named) do
    want(contact_id)
  end
end
if expired_before ~= '' then
  for _, contact_id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[base + 10], '-inf', expired_before)) do
    want(contact_id)
  end
end
local ending = {}  -- service -> citizens a wait limit may end, read past by the heads
for index = 1, tonumber(next_arg()) do
  local service, limit = next_arg(), next_arg()
  local key = KEYS[base + 10 + service_count + index]
  local found
  if limit == 'all' then
    found = redis.call('ZRANGE', key, 0, -1)
  else
    found = redis.call('ZRANGEBYSCORE', key, '-inf', limit)
    ending[service] = #found
  end
  for _, contact_id in ipairs(found) do
    want(contact_id)
  end
end

local missing = {}
if heads then
  local count = known
  if count == nil then
    count = 1
    for index = 2, #agents, 2 do
      if cjson.decode(agents[index]).state ~= 'in_call' then
        count = count + 1
      end
    end
  end
  for _, service in ipairs(redis.call('SMEMBERS', KEYS[base + 7])) do
    local key = present_key[service]
    if key == nil then
      missing[#missing + 1] = service
    else
      for _, contact_id in ipairs(redis.call('ZRANGE', key, 0, count + (ending[service] or 0) - 1)) do
        want(contact_id)
      end
    end
  end
end

local entries = {}
if #order > 0 and #order <= 1000 then
  entries = redis.call('HMGET', KEYS[base + 9], unpack(order))
else
  -- In slices: unpack() of a whole long line would pass more arguments than Lua allows.
  for first = 1, #order, 1000 do
    local texts = redis.call('HMGET', KEYS[base + 9], unpack(order, first, math.min(first + 999, #order)))
    for _, text in ipairs(texts) do
      entries[#entries + 1] = text
    end
  end
end
if known ~= nil then
  local none = {}
  return {'', '', none, none, none, '', missing, order, entries}
end
local version, epoch, cursor = unpack(redis.call('MGET', KEYS[base + 1], KEYS[base + 2], KEYS[base + 6]))
return {
  version or '0',
  epoch or '',
  agents,
  redis.call('HGETALL', KEYS[base + 4]),
  redis.call('HGETALL', KEYS[base + 5]),
  cursor or '',
  missing,
  order,
  entries,
}
