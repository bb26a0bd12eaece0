#!lua flags=allow-oom
-- Move scheduled jobs whose due time has passed (Redis clock) into the work stream.
-- KEYS[1] scheduled   KEYS[2] delayed   KEYS[3] stream   KEYS[4] jobs
-- ARGV[1] most jobs to move in this call
-- Returns {moved, ms until the next due job or -1 when none is scheduled}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(due) do
  local env = redis.call('HGET', KEYS[2], id)
  if env then
    local sid = redis.call('XADD', KEYS[3], '*', 'j', env)
    redis.call('HSET', KEYS[4], id, 'Q' .. sid)
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
