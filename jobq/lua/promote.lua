#!lua flags=allow-oom
-- Move scheduled jobs whose due time has passed (Redis clock) into the work stream.
-- KEYS[1] scheduled   KEYS[2] delayed   KEYS[3] stream   KEYS[4] jobs
-- ARGV[1] most jobs to move in this call
-- Returns {moved, ms until the next due job or -1 when none is scheduled}.
--#include now_ms
--#include queue_entry
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(due) do
  local env = redis.call('HGET', KEYS[2], id)
  if env then
    queue_entry(KEYS[3], KEYS[4], id, env)
    redis.call('HDEL', KEYS[2], id)
  end
  redis.call('ZREM', KEYS[1], id)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = -1
if nxt[2] then
  wait = math.max(0, tonumber(nxt[2]) - now)
end
return {#due, wait}
