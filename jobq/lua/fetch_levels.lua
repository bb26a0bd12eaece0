#!lua flags=allow-oom
-- Read new entries of one queue that uses priority levels, highest level first, at most
-- COUNT in all (XREADGROUP with several streams applies COUNT to each), without blocking:
-- the worker blocks from the client, on every level at once, only when this found nothing.
-- KEYS[1], KEYS[2]... the level streams to read, highest level first
-- ARGV[1] group   ARGV[2] consumer   ARGV[3] count
-- A stream whose group is missing (Redis lost it) gets it again, at 0, and is read next time.
-- Returns {index in KEYS, stream id, envelope or false}... in the order to start them.
--#include entry_envelope
local group, consumer = ARGV[1], ARGV[2]
local left = tonumber(ARGV[3])
local out = {}
for i, stream_key in ipairs(KEYS) do
  if left <= 0 then break end
  local ok, reply = pcall(redis.call, 'XREADGROUP', 'GROUP', group, consumer, 'COUNT', left, 'STREAMS', stream_key, '>')
  if not ok then
    pcall(redis.call, 'XGROUP', 'CREATE', stream_key, group, '0', 'MKSTREAM')
  elseif reply then
    for _, entry in ipairs(reply[1][2]) do
      out[#out + 1] = {i, entry[1], entry[2] and entry_envelope(entry[2]) or false}
      left = left - 1
    end
  end
end
return out
