#!lua flags=allow-oom
-- Purge a batch of a queue's waiting work: the caller lists entries not yet delivered to
-- the group and scheduled jobs; each one still waiting now is removed and recorded as
-- cancelled (so Job.status() says so and blocked Job.result() callers wake). Entries a
-- worker took meanwhile are left alone: they finish or fail as usual. Dead letters are kept.
-- KEYS[1] stream (of one priority level)   KEYS[2] jobs   KEYS[3] scheduled   KEYS[4] delayed   KEYS[5] waiters,
-- then the result key and the notify key of each listed job, in the order of ARGV
-- ARGV[1] group   ARGV[2] result ttl s   ARGV[3] outcome blob of a cancelled job (a JSON
-- object; the job's envelope is added as member "j")   ARGV[4] number of queued jobs Q
-- ARGV[5] number of stream entries without a readable job id U   ARGV[6] the stream's level
-- then Q pairs (stream id, job id), U stream ids, and the ids of scheduled jobs
-- Returns {undelivered entries removed, scheduled jobs removed}.
--#include pending_entry
--#include levels
--#include entry_envelope
--#include store_outcome
--#include wake_waiters
local group, ttl, blob = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local nq, nu, level = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local slot = 5

local function cancelled(id, env)
  local result_key, notify_key = KEYS[slot + 1], KEYS[slot + 2]
  redis.call('HDEL', KEYS[2], id)
  store_outcome(result_key, blob, env, ttl)
  wake_waiters(KEYS[5], notify_key, id)
end

local function undelivered(sid)
  local entry = redis.call('XRANGE', KEYS[1], sid, sid)[1]
  if not entry then return nil end
  local ok, p = pcall(pending_entry, KEYS[1], group, sid)
  if ok and p then return nil end
  return entry[2]
end

local queued = 0
for i = 7, 6 + 2 * nq, 2 do
  local sid, id = ARGV[i], ARGV[i + 1]
  local fields = undelivered(sid)
  if fields then
    if redis.call('HGET', KEYS[2], id) == {{JOB_QUEUED}} .. at_level(level, sid) then
      cancelled(id, entry_envelope(fields))
    end
    redis.call('XDEL', KEYS[1], sid)
    queued = queued + 1
  end
  slot = slot + 2
end
for i = 7 + 2 * nq, 6 + 2 * nq + nu do
  if undelivered(ARGV[i]) then
    redis.call('XDEL', KEYS[1], ARGV[i])
    queued = queued + 1
  end
end

local scheduled = 0
for i = 7 + 2 * nq + nu, #ARGV do
  local id = ARGV[i]
  if redis.call('ZREM', KEYS[3], id) == 1 then
    local env = redis.call('HGET', KEYS[4], id)
    redis.call('HDEL', KEYS[4], id)
    local rec = redis.call('HGET', KEYS[2], id)
    if rec and string.sub(rec, 1, 1) == {{JOB_SCHEDULED}} then cancelled(id, env) end
    scheduled = scheduled + 1
  end
  slot = slot + 2
end
return {queued, scheduled}
