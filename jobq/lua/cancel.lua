#!lua flags=allow-oom
-- Cancel one job: a queued or scheduled job is removed at once; a running one is flagged
-- so its worker stops it at the next lease renewal.
-- KEYS[1] jobs   KEYS[2] stream   KEYS[3] scheduled   KEYS[4] delayed   KEYS[5] result key
-- KEYS[6] waiters   KEYS[7] notify key
-- ARGV[1] group   ARGV[2] job id   ARGV[3] result ttl s   ARGV[4] outcome blob (a JSON
-- object; the job's envelope is added to it as member "j", so what was cancelled stays
-- readable for as long as the outcome is kept)
-- Returns 0 unknown or finished, 1 cancelled, 2 asked to stop, 3 already asked to stop.
local id = ARGV[2]
local rec = redis.call('HGET', KEYS[1], id)
if not rec then return 0 end
local kind, rest = string.sub(rec, 1, 1), string.sub(rec, 2)
if kind == 'X' then return 3 end
local env
if kind == 'Q' then
  local ok, p = pcall(redis.call, 'XPENDING', KEYS[2], ARGV[1], rest, rest, 1)
  if ok and p[1] then
    redis.call('HSET', KEYS[1], id, 'X' .. rest)
    return 2
  end
  local entry = redis.call('XRANGE', KEYS[2], rest, rest)[1]
  if entry then
    for j = 1, #entry[2], 2 do
      if entry[2][j] == 'j' then env = entry[2][j + 1] end
    end
  end
  redis.call('XDEL', KEYS[2], rest)
else
  env = redis.call('HGET', KEYS[4], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end
redis.call('HDEL', KEYS[1], id)
local blob = ARGV[4]
if env and pcall(cjson.decode, env) and string.sub(blob, -1) == '}' then
  blob = string.sub(blob, 1, -2) .. ',"j":' .. env .. '}'
end
redis.call('SET', KEYS[5], blob, 'EX', tonumber(ARGV[3]))
local waiting = tonumber(redis.call('HGET', KEYS[6], id) or '0')
for _ = 1, waiting do redis.call('RPUSH', KEYS[7], '1') end
if waiting > 0 then redis.call('EXPIRE', KEYS[7], 60) end
return 1
