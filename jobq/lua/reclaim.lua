#!lua flags=allow-oom
-- Take over entries whose owner stopped renewing them (idle past the visibility timeout).
-- KEYS[1] stream
-- ARGV[1] group   ARGV[2] consumer   ARGV[3] min idle ms   ARGV[4] cursor   ARGV[5] count
-- The caller follows the returned cursor across calls: XAUTOCLAIM looks at no more than
-- 10 x COUNT pending entries per call, so restarting at 0-0 would only ever see the head.
-- Returns {next cursor, {{stream id, envelope or false, times delivered}...}}.
--#include pending_entry
--#include entry_envelope
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  'COUNT', tonumber(ARGV[5]))
local out = {}
for _, entry in ipairs(r[2]) do
  local sid, fields = entry[1], entry[2]
  local env = fields and entry_envelope(fields) or false
  local p = pending_entry(KEYS[1], ARGV[1], sid)
  out[#out + 1] = {sid, env, p and p[4] or 1}
end
return {r[1], out}
