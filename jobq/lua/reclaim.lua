#!lua flags=allow-oom
-- Take over entries whose owner stopped renewing them (idle past the visibility timeout).
-- KEYS[1] stream
-- ARGV[1] group   ARGV[2] consumer   ARGV[3] min idle ms   ARGV[4] cursor   ARGV[5] count
-- The caller follows the returned cursor across calls: XAUTOCLAIM looks at no more than
-- 10 x COUNT pending entries per call, so restarting at 0-0 would only ever see the head.
-- Returns {next cursor, {{stream id, envelope or false, times delivered}...}}.
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  'COUNT', tonumber(ARGV[5]))
local out = {}
for _, entry in ipairs(r[2]) do
  local sid, fields = entry[1], entry[2]
  local env = false
  if fields then
    for j = 1, #fields, 2 do
      if fields[j] == 'j' then env = fields[j + 1] end
    end
  end
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], sid, sid, 1)
  local count = 1
  if p[1] then count = p[1][4] end
  out[#out + 1] = {sid, env, count}
end
return {r[1], out}
