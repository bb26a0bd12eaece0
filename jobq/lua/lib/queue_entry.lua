-- queue_entry(stream_key, jobs_key, id, env, level): add the job's entry to the work stream
-- (`stream_key`: its level's) and record it as queued there; `level` nil means the default.
-- Returns the new stream id.
--#include levels
local function queue_entry(stream_key, jobs_key, id, env, level)
  local sid = redis.call('XADD', stream_key, '*', {{ENTRY_ENVELOPE}}, env)
  redis.call('HSET', jobs_key, id, {{JOB_QUEUED}} .. at_level(level or {{LEVEL_DEFAULT}}, sid))
  return sid
end
