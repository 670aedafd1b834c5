-- Publish a message on the channel of the node that holds the person's page, in one round trip.
-- KEYS[1] presence key of the person          (string: "<node id> <page id>")
-- ARGV[1] this node's id   ARGV[2] channel name up to the node id   ARGV[3] the envelope
-- Returns how many nodes received it: 0 when no node holds the page, or when this node is
-- named (the page was here and is gone; its record is being released).
local value = redis.call('GET', KEYS[1])
if not value then
  return 0
end
local node = string.match(value, '^[^ ]+')
if node == ARGV[1] then
  return 0
end
return redis.call('PUBLISH', ARGV[2] .. node, ARGV[3])
