#!lua flags=allow-oom
-- Renew the leases a live worker holds, and report what it no longer owns or must stop.
-- KEYS[1] stream   KEYS[2] jobs, then, when an entry is at a priority level other than
-- the default, the level block (lib/levels.lua)
-- ARGV[1] group   ARGV[2] consumer   then pairs: stream id (the worker's reference:
-- "<level>/<stream id>" at another level), job id
-- An entry is renewed (idle reset, delivery count unchanged) only if this consumer still
-- owns it: XCLAIM with min-idle 0 would otherwise steal it from its owner.
-- Returns {lost stream ids, stream ids whose job was cancelled}.
--#include pending_entry
--#include levels
local base = #KEYS > 2 and 3 or 0
local lost, cancelled = {}, {}
for i = 3, #ARGV, 2 do
  local ref, id = ARGV[i], ARGV[i + 1]
  local level, sid = {{LEVEL_DEFAULT}}, ref
  if base > 0 then level, sid = split_level(ref) end
  local stream_key = KEYS[level_slot(base, level, 1)]
  local p = pending_entry(stream_key, ARGV[1], sid)
  if p and p[2] == ARGV[2] then
    redis.call('XCLAIM', stream_key, ARGV[1], ARGV[2], 0, sid, 'JUSTID')
    local rec = redis.call('HGET', KEYS[2], id)
    if rec and string.sub(rec, 1, 1) == {{JOB_CANCEL_ASKED}} then
      cancelled[#cancelled + 1] = ref
    end
  else
    lost[#lost + 1] = ref
  end
end
return {lost, cancelled}
