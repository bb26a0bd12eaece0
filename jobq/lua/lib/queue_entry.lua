-- queue_entry(stream_key, jobs_key, id, env, level, records): add the job's entry to the
-- work stream (`stream_key`: its level's) and record it as queued there; `level` nil means
-- the default. With `records` (a table) the record is appended to it, id then value, for
-- the caller to write in one HSET (a batch pays one call, not one per job).
-- Returns the new stream id.
--#include levels
local function queue_entry(stream_key, jobs_key, id, env, level, records)
  local sid = redis.call('XADD', stream_key, '*', {{ENTRY_ENVELOPE}}, env)
  local record = {{JOB_QUEUED}} .. at_level(level or {{LEVEL_DEFAULT}}, sid)
  if records then
    records[#records + 1] = id
    records[#records + 1] = record
  else
    redis.call('HSET', jobs_key, id, record)
  end
  return sid
end
