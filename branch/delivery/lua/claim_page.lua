-- Make a page the person's one live page, on this node; return the page it replaces.
-- KEYS[1] presence key of the person          (string: "<node id> <page id>")
-- KEYS[2] page table of this node             (hash: user key -> page value)
-- ARGV[1] page value   ARGV[2] user key
-- ARGV[3] presence TTL in milliseconds   ARGV[4] page table TTL in seconds
local previous = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return previous
