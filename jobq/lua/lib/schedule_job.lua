-- schedule_job(scheduled_key, delayed_key, jobs_key, id, env, due, level): keep the job's
-- envelope until `due` (ms, Redis clock) and record it as scheduled at its level (nil: the
-- default); promote.lua queues it then, on that level's stream.
--#include levels
local function schedule_job(scheduled_key, delayed_key, jobs_key, id, env, due, level)
  redis.call('ZADD', scheduled_key, due, id)
  redis.call('HSET', delayed_key, id, env)
  redis.call('HSET', jobs_key, id, {{JOB_SCHEDULED}} .. at_level(level or {{LEVEL_DEFAULT}}, due))
end
