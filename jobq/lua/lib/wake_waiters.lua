-- wake_waiters(waiters_key, notify_key, id): push one wake-up per caller blocked in
-- Job.result() on job `id`; the notify list expires soon after.
local function wake_waiters(waiters_key, notify_key, id)
  local waiting = tonumber(redis.call('HGET', waiters_key, id) or '0')
  for _ = 1, waiting do redis.call('RPUSH', notify_key, '1') end
  if waiting > 0 then redis.call('EXPIRE', notify_key, 60) end
end
