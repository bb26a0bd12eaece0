-- now_ms(): the Redis clock in milliseconds, read once per script call (every step of one
-- call then sees the same now).
local now_ms_value
local function now_ms()
  if not now_ms_value then
    local t = redis.call('TIME')
    now_ms_value = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return now_ms_value
end
