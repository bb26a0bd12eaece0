#!lua
-- Enqueue a batch of jobs into one queue, now or at a due time (Redis clock).
-- KEYS[1] stream   KEYS[2] jobs   KEYS[3] scheduled   KEYS[4] delayed
-- ARGV[1] key prefix of the queue ("ns:{q}:")
-- then 5 values per job: job id, envelope, delay ms, at ms (0 = none), unique ("1": the
-- caller chose the id, so an unfinished job with that id makes this enqueue a no-op)
-- Returns one integer per job: 1 enqueued, 0 already pending under that id.
local prefix = ARGV[1]
-- (The producer creates the queue's consumer group once, before its first enqueue.)
local now_ms
local function now()
  if not now_ms then
    local t = redis.call('TIME')
    now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return now_ms
end
local out = {}
for i = 2, #ARGV, 5 do
  local id, env = ARGV[i], ARGV[i + 1]
  local delay, at = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  if ARGV[i + 4] == '1' and redis.call('HEXISTS', KEYS[2], id) == 1 then
    out[#out + 1] = 0
  else
    if ARGV[i + 4] == '1' then
      redis.call('DEL', prefix .. 'result:' .. id)
    end
    local due = 0
    if delay > 0 then
      due = now() + delay
    elseif at > 0 and at > now() then
      due = at
    end
    if due > 0 then
      redis.call('ZADD', KEYS[3], due, id)
      redis.call('HSET', KEYS[4], id, env)
      redis.call('HSET', KEYS[2], id, 'S' .. due)
    else
      local sid = redis.call('XADD', KEYS[1], '*', 'j', env)
      redis.call('HSET', KEYS[2], id, 'Q' .. sid)
    end
    out[#out + 1] = 1
  end
end
return out
