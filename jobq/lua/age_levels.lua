#!lua flags=allow-oom
-- Aging, so that no priority level starves: an entry that has waited undelivered on its
-- level's stream for `age` ms moves up one level (to the tail of that level's stream, with
-- its job record following it). A job at level L reaches 9 after (9 - L) x age at most,
-- and is then served in order with the other level-9 jobs.
-- KEYS[1] jobs, then the level block (lib/levels.lua)
-- ARGV[1] group   ARGV[2] age ms   ARGV[3] most entries to move per level and call
-- Returns the number of entries moved.
--#include now_ms
--#include levels
--#include queue_entry
--#include entry_envelope
local group, age, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local used = redis.call('SMEMBERS', KEYS[12])
if #used == 0 then return 0 end  -- one level only: nothing can starve it
local levels = {[{{LEVEL_DEFAULT}}] = true}
for _, level in ipairs(used) do levels[tonumber(level)] = true end

local function last_delivered(stream_key)
  local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', stream_key)
  if not ok then return nil end
  for _, g in ipairs(groups) do
    local name, last
    for j = 1, #g, 2 do
      if g[j] == 'name' then name = g[j + 1] elseif g[j] == 'last-delivered-id' then last = g[j + 1] end
    end
    if name == group then return last end
  end
  return nil
end

local now, moved = now_ms(), 0
for level = 8, 0, -1 do
  if levels[level] then
    local from_key = KEYS[2 + level]
    local last = last_delivered(from_key)
    local waiting = last and redis.call('XRANGE', from_key, '(' .. last, '+', 'COUNT', limit) or {}
    for _, entry in ipairs(waiting) do
      local sid = entry[1]
      if now - tonumber(string.match(sid, '^(%d+)')) < age then break end
      local env = entry_envelope(entry[2])
      local ok, body = pcall(cjson.decode, env or '')
      local id = ok and type(body) == 'table' and body.id
      if id and redis.call('HGET', KEYS[1], id) == {{JOB_QUEUED}} .. at_level(level, sid) then
        use_level(2, level + 1)
        queue_entry(KEYS[2 + level + 1], KEYS[1], id, env, level + 1)
        redis.call('XDEL', from_key, sid)
        moved = moved + 1
      end
    end
  end
end
return moved
