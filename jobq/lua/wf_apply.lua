#!lua flags=allow-oom
-- Workflows: apply "member finished" records to one workflow's state, idempotently (a
-- member counts once however often its record is replayed), and say what follows.
-- KEYS[1] the workflow's state hash (its own slot)
-- ARGV[1] JSON array of 4 values per record, flattened: job id, member index (1-based,
--         from the job's link), state, value JSON (the result, or a failure description)
-- State fields: kind (chain, group, chord, after), n (members), ok, failed, ttl, inc ("1":
-- a callback runs with failures included), fail (first failed member), next (JSON spec
-- of the callback or the waiting job), r.<index> (a finished member's value JSON: its
-- presence is what makes a replay count once), s.<index> (a chain step's spec),
-- i.<job id> (member index: chains and after= only, for job show)
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
local new_ok, new_failed = 0, 0
for j = 1, #records, 4 do
  local id, idx, state, value = records[j], records[j + 1], records[j + 2], records[j + 3]
  local k = tonumber(idx)
  if k and k >= 1 and k <= n then
    if redis.call('HSETNX', state_key, 'r.' .. idx, value) == 1 then
      if state == 'succeeded' then
        new_ok = new_ok + 1
      else
        new_failed = new_failed + 1
        redis.call('HSETNX', state_key, 'fail', id)
      end
    end
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
if new_ok > 0 then redis.call('HINCRBY', state_key, 'ok', new_ok) end
if new_failed > 0 then redis.call('HINCRBY', state_key, 'failed', new_failed) end
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
