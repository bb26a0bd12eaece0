-- schedule_job(scheduled_key, delayed_key, jobs_key, id, env, due): keep the job's envelope
-- until `due` (ms, Redis clock) and record it as scheduled; promote.lua queues it then.
local function schedule_job(scheduled_key, delayed_key, jobs_key, id, env, due)
  redis.call('ZADD', scheduled_key, due, id)
  redis.call('HSET', delayed_key, id, env)
  redis.call('HSET', jobs_key, id, {{JOB_SCHEDULED}} .. due)
end
