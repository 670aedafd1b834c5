-- Keep a session and list it among its person's logins, so that ending the person ends them all.
-- KEYS[1] the session                            (string: Session JSON)
-- KEYS[2] the person's logins                   (set of session ids)
-- ARGV[1] the Session JSON   ARGV[2] its id   ARGV[3] its lifetime in milliseconds
-- ARGV[4] "nx": only where no record exists (a write-back must not overwrite a newer one)
-- Returns 1 when the session was written, 0 when a record was there already.
local written
if ARGV[4] == 'nx' then
  written = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3], 'NX')
else
  written = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
end
if not written then
  return 0
end
redis.call('SADD', KEYS[2], ARGV[2])
-- The list lives as long as its longest-lived login (-1: just made, no TTL yet).
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[2]) < ttl then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return 1
