-- Forget a page; 1 when it was still the person's live page (on any node), else 0.
-- KEYS[1] presence key of the person          (string: "<node id> <page id>")
-- KEYS[2] page table of the page's node       (hash: user key -> page value)
-- ARGV[1] page value   ARGV[2] user key
local released = 0
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  released = 1
end
if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return released
