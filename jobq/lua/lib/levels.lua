-- Priority levels (jobq.records.LEVEL_SEP): a job at a level other than {{LEVEL_DEFAULT}}
-- has its entry on that level's stream, and its job record and the worker's reference to
-- the entry read "<level>/<stream id or due ms>". A script that handles levels receives
-- the level block (jobq.protocol_levels.level_block): the streams of levels 0..9, then the set of
-- levels in use; `base` is the index in KEYS of its first key.
-- split_level(detail) -> level, bare detail.   at_level(level, detail) -> recorded detail.
-- level_slot(base, level, default_slot): the index in KEYS of the stream of `level` (the
-- default level's is KEYS[default_slot], which a script without the block, base 0, uses
-- for everything).
-- envelope_level(env): the level an envelope names (member {{ENVELOPE_PRIORITY}}), else the
-- default; decoded only when the member may be there.
-- use_level(base, level): record the level as used; the first use creates its stream and
-- consumer group (at 0), so no worker can miss an entry written there.
local function split_level(detail)
  local at = string.find(detail, {{LEVEL_SEP}}, 1, true)
  if not at then return {{LEVEL_DEFAULT}}, detail end
  return tonumber(string.sub(detail, 1, at - 1)), string.sub(detail, at + 1)
end

local function at_level(level, detail)
  if level == {{LEVEL_DEFAULT}} then return detail end
  return level .. {{LEVEL_SEP}} .. detail
end

local function level_slot(base, level, default_slot)
  if level == {{LEVEL_DEFAULT}} or base == 0 then return default_slot end
  return base + level
end

local function use_level(base, level)
  if level ~= {{LEVEL_DEFAULT}} and redis.call('SADD', KEYS[base + 10], level) == 1 then
    local stream_key = KEYS[base + level]
    pcall(redis.call, 'XGROUP', 'CREATE', stream_key, {{GROUP}}, '0', 'MKSTREAM')
  end
end

local function envelope_level(env)
  if not string.find(env, '"' .. {{ENVELOPE_PRIORITY}} .. '":', 1, true) then return {{LEVEL_DEFAULT}} end
  local ok, body = pcall(cjson.decode, env)
  local level = ok and type(body) == 'table' and tonumber(body[{{ENVELOPE_PRIORITY}}])
  if level and level >= 0 and level <= 9 and level == math.floor(level) then return level end
  return {{LEVEL_DEFAULT}}
end
