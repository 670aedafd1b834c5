-- After Redis restarted empty: make a page this node kept open the person's live page again,
-- unless a newer page of theirs registered meanwhile; return that newer page's value.
-- KEYS[1] presence key of the person          (string: "<node id> <page id>")
-- KEYS[2] page table of this node             (hash: user key -> page value)
-- ARGV[1] page value   ARGV[2] user key
-- ARGV[3] presence TTL in milliseconds   ARGV[4] page table TTL in seconds
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then
  return current
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return false
