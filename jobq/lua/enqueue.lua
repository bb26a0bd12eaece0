#!lua
-- Enqueue a batch of jobs into one queue, now or at a due time (Redis clock).
-- KEYS[1] stream   KEYS[2] jobs   KEYS[3] scheduled   KEYS[4] delayed   KEYS[5] dead
-- KEYS[6] deadidx, then (at a priority level other than the default) the level block
-- (lib/levels.lua), then the result key of each job whose id the caller chose, in order
-- ARGV[1] the jobs' priority level, then 5 values per job: job id, envelope, delay ms,
-- at ms (0 = none), unique ("1": the caller chose the id, so an unfinished job with that
-- id makes this enqueue a no-op)
-- A chosen id whose previous run has finished starts from a clean slate: its stored
-- outcome and its dead letter are removed, so nothing of that run is shown as this one's
-- and `jobq dlq requeue` cannot bring the old run back over the new one.
-- Returns one integer per job: 1 enqueued, 0 already pending under that id.
-- (The producer creates the queue's consumer group once, before its first enqueue; a
-- level's group is made here, the first time the level is used.)
--#include now_ms
--#include levels
--#include queue_entry
--#include schedule_job

local function forget_previous_run(id, result_key)
  redis.call('DEL', result_key)
  local did = redis.call('HGET', KEYS[6], id)
  if did then
    redis.call('XDEL', KEYS[5], did)
    redis.call('HDEL', KEYS[6], id)
  end
end

local out = {}
local chosen = 6
local level = tonumber(ARGV[1])
local stream_slot = 1
if level ~= {{LEVEL_DEFAULT}} then
  use_level(7, level)
  stream_slot = level_slot(7, level, 1)
  chosen = 17
end
for i = 2, #ARGV, 5 do
  local id, env = ARGV[i], ARGV[i + 1]
  local delay, at = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local unique = ARGV[i + 4] == '1'
  if unique then chosen = chosen + 1 end
  if unique and redis.call('HEXISTS', KEYS[2], id) == 1 then
    out[#out + 1] = 0
  else
    if unique then forget_previous_run(id, KEYS[chosen]) end
    local due = 0
    if delay > 0 then
      due = now_ms() + delay
    elseif at > 0 and at > now_ms() then
      due = at
    end
    if due > 0 then
      schedule_job(KEYS[3], KEYS[4], KEYS[2], id, env, due, level)
    else
      queue_entry(KEYS[stream_slot], KEYS[2], id, env, level)
    end
    out[#out + 1] = 1
  end
end
return out
