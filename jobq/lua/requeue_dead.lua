#!lua flags=allow-oom
-- Replay dead-lettered jobs: each leaves the dead-letter stream and is queued again under
-- its id, with its attempts counted afresh (the caller passes the reset envelope).
-- KEYS[1] dead   KEYS[2] deadidx   KEYS[3] stream   KEYS[4] jobs
-- ARGV[1] key prefix, then triples: job id, dead entry id, fresh envelope
-- Returns one integer per job: 1 requeued, 0 no longer in the dead-letter stream.
local out = {}
for i = 2, #ARGV, 3 do
  local id, did, env = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('XDEL', KEYS[1], did) == 1 then
    if redis.call('HGET', KEYS[2], id) == did then
      redis.call('HDEL', KEYS[2], id)
    end
    redis.call('DEL', ARGV[1] .. 'result:' .. id)
    local sid = redis.call('XADD', KEYS[3], '*', 'j', env)
    redis.call('HSET', KEYS[4], id, 'Q' .. sid)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
