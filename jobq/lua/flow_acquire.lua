#!lua flags=allow-oom
-- Decide, for a batch of entries a worker is about to start, which may start now under
-- their task's fleet-wide rate limit and concurrency cap, on the Redis clock; take a rate
-- slot and a concurrency slot for each one that may.
-- KEYS[1]... the limit keys the batch names, each once: rate windows (zset) and
-- concurrency holder sets (zset), from jobq.keys
-- ARGV[1] holder lease ms (the visibility timeout: a dead holder's slot lapses with it)
-- ARGV[2] lead ms: how early a deferred job is brought back (the worker's promote delay)
-- then 7 values per entry: its stream id, index in KEYS of its rate window (0: no rate
-- limit), its job id, rate count, rate period ms, index in KEYS of its holder set (0: no
-- cap), cap
-- Rate limits are a sliding window on the Redis clock: a job starts only if fewer than
-- `count` starts lie in the `period` that ends now, so no window of that length ever holds
-- more. A job over it reserves (under its job id, in the same zset) the slot that frees
-- after every start and reservation ahead of it, and no sooner than period / count after
-- the last of them (so deferred jobs come back evenly spread, not in bursts), and is told
-- to come back `lead` ms before it; when it does, it is checked again (so neither an early
-- nor a late return can crowd a window) and, if its slot has not freed yet, keeps its
-- place and waits the few ms left in the worker ('w'), so starts keep the full rate.
-- A job over its cap waits 200 ms, 100 ms more for each job before it in this batch
-- denied by the same cap (at most 2 s): holders give no notice of when they finish.
-- Returns 2 values per entry: '' and 0 (start it), 'w' and ms (ask again after that
-- long, in the worker), or 'r' / 'c' (rate / cap) and ms to defer it by.
--#include now_ms
local now = now_ms()
local lease, lead = tonumber(ARGV[1]), tonumber(ARGV[2])
local swept, denied, out = {}, {}, {}

local function sweep(i, upto)
  if not swept[i] then
    local limit_key = KEYS[i]
    redis.call('ZREMRANGEBYSCORE', limit_key, '-inf', upto)
    swept[i] = true
  end
end

local function over_cap(member, si, cap)
  local holders_key = KEYS[si]
  sweep(si, now)
  if redis.call('ZSCORE', holders_key, member) then return 0 end
  if redis.call('ZCARD', holders_key) < cap then return 0 end
  local before = denied[si] or 0
  denied[si] = before + 1
  return math.min(200 + 100 * before, 2000)
end

local function over_rate(job, ri, count, period)
  local window_key = KEYS[ri]
  sweep(ri, now - period)
  local reserved = tonumber(redis.call('ZSCORE', window_key, job) or '0')
  redis.call('ZREM', window_key, job)  -- its reservation, if it had one, is used now
  if redis.call('ZCOUNT', window_key, now - period + 1, now) < count then
    redis.call('ZADD', window_key, now, job)
    redis.call('PEXPIRE', window_key, period)
    return '', 0
  end
  local due
  if reserved > 0 then  -- back (early) for its reservation: keep its place in line
    local oldest = redis.call('ZRANGEBYSCORE', window_key, now - period + 1, now, 'WITHSCORES', 'LIMIT', 0, 1)
    due = math.max(now + 1, reserved, tonumber(oldest[2]) + period)
  else  -- the slot that frees after every start and reservation ahead of it
    local ahead = redis.call('ZCOUNT', window_key, now - period + 1, '+inf')
    local nth = redis.call('ZRANGEBYSCORE', window_key, now - period + 1, '+inf', 'WITHSCORES',
      'LIMIT', ahead - count, 1)
    local last = redis.call('ZRANGE', window_key, -1, -1, 'WITHSCORES')
    due = math.max(now + 1, tonumber(nth[2]) + period, tonumber(last[2]) + math.ceil(period / count))
  end
  redis.call('ZADD', window_key, due, job)
  redis.call('PEXPIRE', window_key, due - now + period)
  if due - now <= lead then return 'w', due - now end
  return 'r', due - now - lead
end

for i = 3, #ARGV, 7 do
  local member, job = ARGV[i], ARGV[i + 2]
  local ri, si = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 5])
  local why, wait = '', 0
  if si > 0 then
    wait = over_cap(member, si, tonumber(ARGV[i + 6]))
    if wait > 0 then why = 'c' end
  end
  if why == '' and ri > 0 then
    why, wait = over_rate(job, ri, tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]))
  end
  if why == '' and si > 0 then
    local holders_key = KEYS[si]
    redis.call('ZADD', holders_key, now + lease, member)
  end
  out[#out + 1] = why
  out[#out + 1] = wait
end
return out
