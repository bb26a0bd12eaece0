-- queue_entry(stream_key, jobs_key, id, env): add the job's entry to the work stream and
-- record it as queued there. Returns the new stream id.
local function queue_entry(stream_key, jobs_key, id, env)
  local sid = redis.call('XADD', stream_key, '*', {{ENTRY_ENVELOPE}}, env)
  redis.call('HSET', jobs_key, id, {{JOB_QUEUED}} .. sid)
  return sid
end
