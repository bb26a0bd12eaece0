-- Purge a queue's waiting work, one bounded batch per call: up to ARGV[2] entries not yet
-- delivered to the group and up to ARGV[2] scheduled jobs are removed and recorded as
-- cancelled (so Job.status() says so and blocked Job.result() callers wake). Entries a
-- worker holds are left alone: they finish or fail as usual. Dead letters are kept.
-- KEYS[1] stream   KEYS[2] jobs   KEYS[3] scheduled   KEYS[4] delayed   KEYS[5] waiters
-- ARGV[1] group   ARGV[2] limit   ARGV[3] key prefix ("ns:{q}:")   ARGV[4] result ttl s
-- ARGV[5] outcome blob of a cancelled job
-- Returns {undelivered entries removed, scheduled jobs removed}.
local group, limit, prefix = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local ttl, blob = tonumber(ARGV[4]), ARGV[5]

local function cancelled(id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('SET', prefix .. 'result:' .. id, blob, 'EX', ttl)
  local waiting = tonumber(redis.call('HGET', KEYS[5], id) or '0')
  if waiting > 0 then
    local nk = prefix .. 'notify:' .. id
    for _ = 1, waiting do redis.call('RPUSH', nk, '1') end
    redis.call('EXPIRE', nk, 60)
  end
end

local last = '0-0'
local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
if ok then
  for _, g in ipairs(groups) do
    local info = {}
    for j = 1, #g, 2 do info[g[j]] = g[j + 1] end
    if info['name'] == group then last = info['last-delivered-id'] end
  end
end

local queued = 0
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', limit)) do
  local sid, fields = entry[1], entry[2]
  for j = 1, #fields, 2 do
    if fields[j] == 'j' then
      local decoded, env = pcall(cjson.decode, fields[j + 1])
      if decoded and type(env) == 'table' and type(env['id']) == 'string'
          and redis.call('HGET', KEYS[2], env['id']) == 'Q' .. sid then
        cancelled(env['id'])
      end
    end
  end
  redis.call('XDEL', KEYS[1], sid)
  queued = queued + 1
end

local scheduled = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, limit - 1)) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  local rec = redis.call('HGET', KEYS[2], id)
  if rec and string.sub(rec, 1, 1) == 'S' then cancelled(id) end
  scheduled = scheduled + 1
end
return {queued, scheduled}
