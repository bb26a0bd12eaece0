#!lua flags=allow-oom
-- Cancel one job: a queued or scheduled job is removed at once; a running one is flagged
-- so its worker stops it at the next lease renewal.
-- KEYS[1] jobs   KEYS[2] stream   KEYS[3] scheduled   KEYS[4] delayed   KEYS[5] result key
-- KEYS[6] waiters   KEYS[7] notify key   KEYS[8] links   KEYS[9] outbox (workflows), then
-- the level block (lib/levels.lua): a queued job's entry is on its level's stream
-- ARGV[1] group   ARGV[2] job id   ARGV[3] result ttl s   ARGV[4] outcome blob (a JSON
-- object; the job's envelope is added to it as member "j", so what was cancelled stays
-- readable for as long as the outcome is kept)
-- Returns 0 unknown or finished, 1 cancelled, 2 asked to stop, 3 already asked to stop.
--#include pending_entry
--#include levels
--#include entry_envelope
--#include store_outcome
--#include wake_waiters
--#include tell_workflows
--#include workflow_links
--#include envelope_link
local id = ARGV[2]
local rec = redis.call('HGET', KEYS[1], id)
if not rec then return 0 end
local kind, rest = string.sub(rec, 1, 1), string.sub(rec, 2)
if kind == {{JOB_CANCEL_ASKED}} then return 3 end
local env
if kind == {{JOB_QUEUED}} then
  local level, sid = split_level(rest)
  local stream_key = KEYS[level_slot(10, level, 2)]
  local ok, p = pcall(pending_entry, stream_key, ARGV[1], sid)
  if ok and p then
    redis.call('HSET', KEYS[1], id, {{JOB_CANCEL_ASKED}} .. rest)
    return 2
  end
  local entry = redis.call('XRANGE', stream_key, sid, sid)[1]
  if entry then env = entry_envelope(entry[2]) end
  redis.call('XDEL', stream_key, sid)
else
  env = redis.call('HGET', KEYS[4], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end
redis.call('HDEL', KEYS[1], id)
store_outcome(KEYS[5], ARGV[4], env, tonumber(ARGV[3]))
wake_waiters(KEYS[6], KEYS[7], id)
local wf = workflow_links(KEYS[8], id, envelope_link(env))  -- workflows: see settle.lua
if wf then tell_workflows(KEYS[9], {id, wf, ARGV[4]}) end
return 1
