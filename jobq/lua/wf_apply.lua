#!lua flags=allow-oom
-- Workflows: apply "member finished" records to one workflow's state, idempotently (a
-- member counts once however often its record is replayed), and say what follows.
-- KEYS[1] the workflow's state hash (its own slot)
-- ARGV[1] JSON array of 3 values per record, flattened: job id, state, value JSON (the
--         result, or a failure description)
-- State fields: kind (chain, group, chord, after), n (members), ok, failed, ttl, inc ("1":
-- a callback runs with failures included), fail (first failed member), next (JSON spec
-- of the callback or the waiting job), i.<job id> (member index, 1-based),
-- d.<job id> (its final state), r.<index> (its value JSON), s.<index> (a chain step's spec)
-- Returns {n, ok, failed, actions}: actions are {op, spec JSON, input JSON or member id}:
--   run     release the spec's job with this input (a chain's previous result, a chord's
--           list of results, "" for none)
--   cancel  close the spec's waiting job: this member failed
-- The same records give the same actions again: releasing is idempotent (wf_admit.lua).
local state_key = KEYS[1]
if redis.call('EXISTS', state_key) == 0 then return {0, 0, 0, {}} end
local st = redis.call('HMGET', state_key, 'kind', 'n', 'ttl', 'inc', 'next')
local kind, n, ttl, inc, nxt = st[1], tonumber(st[2]), tonumber(st[3]), st[4] == '1', st[5]
local records = cjson.decode(ARGV[1])
local actions = {}
for j = 1, #records, 3 do
  local id, state, value = records[j], records[j + 1], records[j + 2]
  local idx = redis.call('HGET', state_key, 'i.' .. id)
  if idx then
    if redis.call('HSETNX', state_key, 'd.' .. id, state) == 1 then
      redis.call('HSET', state_key, 'r.' .. idx, value)
      if state == 'succeeded' then
        redis.call('HINCRBY', state_key, 'ok', 1)
      else
        redis.call('HINCRBY', state_key, 'failed', 1)
        redis.call('HSETNX', state_key, 'fail', id)
      end
    end
    local k = tonumber(idx)
    if kind == 'chain' and k < n then
      if state == 'succeeded' then
        actions[#actions + 1] = {'run', redis.call('HGET', state_key, 's.' .. (k + 1)), value}
      else
        for later = k + 1, n do
          actions[#actions + 1] = {'cancel', redis.call('HGET', state_key, 's.' .. later), id}
        end
      end
    end
  end
end
local counts = redis.call('HMGET', state_key, 'ok', 'failed')
local ok, failed = tonumber(counts[1] or '0'), tonumber(counts[2] or '0')
if kind ~= 'chain' and nxt then
  if failed > 0 and not inc then
    actions[#actions + 1] = {'cancel', nxt, redis.call('HGET', state_key, 'fail')}
  elseif ok + failed == n then
    local input = ''
    if kind == 'chord' then
      local fields = {}
      for k = 1, n do fields[k] = 'r.' .. k end
      local values = {}
      for c = 1, n, 1000 do
        local part = redis.call('HMGET', state_key, unpack(fields, c, math.min(c + 999, n)))
        for _, v in ipairs(part) do values[#values + 1] = v or 'null' end
      end
      input = '[' .. table.concat(values, ',') .. ']'
    end
    actions[#actions + 1] = {'run', nxt, input}
  end
end
local over = ok + failed >= n or (kind == 'chain' and failed > 0)
if over and ttl and ttl > 0 then
  redis.call('EXPIRE', state_key, ttl)  -- finished: the state goes with the results
end
return {n, ok, failed, actions}
