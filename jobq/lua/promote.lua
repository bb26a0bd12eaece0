#!lua flags=allow-oom
-- Move scheduled jobs whose due time has passed (Redis clock) into the work stream of
-- their priority level.
-- KEYS[1] scheduled   KEYS[2] delayed   KEYS[3] stream   KEYS[4] jobs, then the level
-- block (lib/levels.lua)
-- ARGV[1] most jobs to move in this call
-- Returns {moved, ms until the next due job or -1 when none is scheduled}.
--#include now_ms
--#include levels
--#include queue_entry
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local levelled = #due > 0 and redis.call('SCARD', KEYS[15]) > 0  -- else all are at the default
for _, id in ipairs(due) do
  local env = redis.call('HGET', KEYS[2], id)
  if env then
    local level = {{LEVEL_DEFAULT}}
    local rec = levelled and redis.call('HGET', KEYS[4], id)
    if rec and string.sub(rec, 1, 1) == {{JOB_SCHEDULED}} then level = split_level(string.sub(rec, 2)) end
    queue_entry(KEYS[level_slot(5, level, 3)], KEYS[4], id, env, level)
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
