-- apply_members(state_key, records, created): apply "member finished" records to one
-- workflow's state, idempotently (a member counts once however often its record is
-- replayed), and say what follows. `records`: 4 values per record, flattened: job id,
-- member index (1-based, from the job's link), state, value JSON (the result, or a
-- failure description). `created`: its producer has written all its jobs, so an
-- unfinished state stops expiring (it is written with a TTL: a creation that dies half
-- way leaves nothing for ever).
-- State fields: kind (chain, group, chord, after), n (members), ok, failed, ttl, inc ("1":
-- a callback runs with failures included), fail (first failed member), next (JSON spec
-- of the callback or the waiting job), r.<index> (a finished member's value JSON: its
-- presence is what makes a replay count once), s.<index> (a chain step's spec),
-- i.<job id> (member index: chains and after= only, for job show)
-- Returns {n, ok, failed, actions}: actions are {op, spec JSON, input JSON or member id}:
--   run     release the spec's job with this input (a chain's previous result, "" for none)
--   collect release the spec's job with the list of the members' results (r.1 .. r.n,
--           read by the caller: building it here would hold Redis up for a big chord)
--   cancel  close the spec's waiting job: this member failed
-- The same records give the same actions again: releasing is idempotent (wf_admit.lua).
local function apply_members(state_key, records, created)
  if redis.call('EXISTS', state_key) == 0 then return {0, 0, 0, {}} end
  local st = redis.call('HMGET', state_key, 'kind', 'n', 'ttl', 'inc', 'next')
  local kind, n, ttl, inc, nxt = st[1], tonumber(st[2]), tonumber(st[3]), st[4] == '1', st[5]
  local actions = {}
  local new_ok, new_failed, first_fail = 0, 0, nil
  local valid, fields = {}, {}  -- the records of members of this workflow, and their r.<k>
  for j = 1, #records, 4 do
    local k = tonumber(records[j + 1])
    if k and k >= 1 and k <= n then
      valid[#valid + 1], fields[#fields + 1] = j, 'r.' .. records[j + 1]
    end
  end
  local known, writes = {}, {}  -- members counted already (before, or earlier in this call)
  for c = 1, #fields, 1000 do
    local got = redis.call('HMGET', state_key, unpack(fields, c, math.min(c + 999, #fields)))
    for g = 1, #got do
      if got[g] then known[fields[c + g - 1]] = true end
    end
  end
  for v, j in ipairs(valid) do
    local id, idx, state, value = records[j], records[j + 1], records[j + 2], records[j + 3]
    local k = tonumber(idx)
    if not known[fields[v]] then
      known[fields[v]] = true
      writes[#writes + 1], writes[#writes + 2] = fields[v], value
      if state == 'succeeded' then
        new_ok = new_ok + 1
      else
        new_failed = new_failed + 1
        first_fail = first_fail or id
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
  for c = 1, #writes, 1000 do
    redis.call('HSET', state_key, unpack(writes, c, math.min(c + 999, #writes)))
  end
  if first_fail then redis.call('HSETNX', state_key, 'fail', first_fail) end
  if new_ok > 0 then redis.call('HINCRBY', state_key, 'ok', new_ok) end
  if new_failed > 0 then redis.call('HINCRBY', state_key, 'failed', new_failed) end
  local counts = redis.call('HMGET', state_key, 'ok', 'failed')
  local ok, failed = tonumber(counts[1] or '0'), tonumber(counts[2] or '0')
  if kind ~= 'chain' and nxt then
    if failed > 0 and not inc then
      actions[#actions + 1] = {'cancel', nxt, redis.call('HGET', state_key, 'fail')}
    elseif ok + failed == n then
      actions[#actions + 1] = {kind == 'chord' and 'collect' or 'run', nxt, ''}
    end
  end
  local over = ok + failed >= n or (kind == 'chain' and failed > 0)
  if over and ttl and ttl > 0 then
    redis.call('EXPIRE', state_key, ttl)  -- finished: the state goes with the results
  elseif created then
    redis.call('PERSIST', state_key)
  end
  return {n, ok, failed, actions}
end
