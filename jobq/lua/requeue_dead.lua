#!lua flags=allow-oom
-- Replay dead-lettered jobs: each leaves the dead-letter stream and is queued again under
-- its id, with its attempts counted afresh (the caller passes the reset envelope).
-- A dead letter whose id has a newer run (pending, or finished other than dead) is stale:
-- it is removed instead, so a replay never brings an old run back over a newer one.
-- KEYS[1] dead   KEYS[2] deadidx   KEYS[3] stream   KEYS[4] jobs, then the result key of
-- each job, in order, then the level block (lib/levels.lua): a job goes back to the
-- priority level its envelope names (member "p"; the default when it names none)
-- ARGV: triples: job id, dead entry id, fresh envelope
-- Returns one integer per job: 1 requeued, 0 no longer in the dead-letter stream,
-- 2 removed as stale (a newer run of the id exists).
--#include levels
--#include queue_entry
local function superseded(id, result_key)
  if redis.call('HEXISTS', KEYS[4], id) == 1 then return true end
  local blob = redis.call('GET', result_key)
  if not blob then return false end
  local ok, outcome = pcall(cjson.decode, blob)
  return ok and type(outcome) == 'table' and outcome[{{OUTCOME_STATE}}] ~= {{STATUS_DEAD}}
end

local base = #KEYS - 10

local out = {}
local n = 0
for i = 1, #ARGV, 3 do
  local id, did, env = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  n = n + 1
  local result_key = KEYS[4 + n]
  local stale = superseded(id, result_key)
  if redis.call('XDEL', KEYS[1], did) == 0 then
    out[n] = 0
  else
    if redis.call('HGET', KEYS[2], id) == did then
      redis.call('HDEL', KEYS[2], id)
    end
    if stale then
      out[n] = 2
    else
      redis.call('DEL', result_key)
      local level = envelope_level(env)
      use_level(base, level)
      queue_entry(KEYS[level_slot(base, level, 3)], KEYS[4], id, env, level)
      out[n] = 1
    end
  end
end
return out
