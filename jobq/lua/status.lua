#!lua flags=no-writes
-- The state of one job.
-- KEYS[1] jobs   KEYS[2] stream   KEYS[3] result key, then the level block (lib/levels.lua)
-- ARGV[1] group   ARGV[2] job id
-- Returns {state, detail}: "queued" / "running" with the stream id, "scheduled" with the
-- due ms, "waiting" with its workflow id, "final" with the stored outcome, or {} when the job is unknown here.
-- (At a priority level other than the default, the stream id or due ms reads "<level>/...".)
--#include pending_entry
--#include levels
local rec = redis.call('HGET', KEYS[1], ARGV[2])
if rec then
  local kind, rest = string.sub(rec, 1, 1), string.sub(rec, 2)
  if kind == {{JOB_SCHEDULED}} then return {'scheduled', rest} end
  if kind == {{JOB_WAITING}} then return {'waiting', rest} end
  if kind == {{JOB_CANCEL_ASKED}} then return {'running', rest} end
  local level, sid = split_level(rest)
  local ok, p = pcall(pending_entry, KEYS[level_slot(4, level, 2)], ARGV[1], sid)
  if ok and p then return {'running', rest} end
  return {'queued', rest}
end
local blob = redis.call('GET', KEYS[3])
if blob then return {'final', blob} end
return {}
