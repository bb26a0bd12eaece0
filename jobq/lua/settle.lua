#!lua flags=allow-oom
-- Settle a batch of finished attempts: record each outcome, then acknowledge and delete
-- the entries, all in one step so a crash leaves either the old state or the new one.
-- KEYS[1] stream   KEYS[2] jobs   KEYS[3] scheduled   KEYS[4] delayed   KEYS[5] dead
-- KEYS[6] deadidx  KEYS[7] waiters  KEYS[8] counters, then the result key of each job of
-- the batch, in order, then links and outbox (workflows), then, when the batch holds an
-- entry of a priority level other than the default, the level block (lib/levels.lua),
-- then the state hashes of workflows this step applies members to (one server only)
-- ARGV[1] group   ARGV[2] consumer
-- ARGV[3] JSON array of counter (field, increment) pairs, flattened
-- ARGV[4] JSON array of 6 values per job, flattened: op, stream id, job id, result ttl s (text),
--         x2, x3
-- ARGV[5] the level block's index in KEYS (0: no level block)
-- ARGV[5 + n] x1 of the n-th job (the long value: copied, not decoded out of JSON)
--   ok      x1 outcome blob
--   retry   x1 new envelope, x2 delay ms, x3 outcome blob (used if the job was cancelled)
--   dead    x1 envelope, x2 dead-letter details JSON, x3 outcome blob (the job's record is
--           closed only if it points at this entry)
--   cancel  x1 outcome blob
--   expire  x1 outcome blob (closed unrun: its expiry passed)
-- With the level block, a stream id is the worker's reference to the entry: at another
-- level "<level>/<stream id>", and a retry or a release goes back to that same level.
-- ARGV[#ARGV] JSON array of 5 values per workflow member of the batch, flattened: job id,
--         the workflow link its envelope carries, the KEYS index of its workflow's state
--         (0: none), its member index and its result JSON. A member that succeeded is
--         applied to that state here (lib/apply_members.lua), and told to the outbox only
--         if something follows (a chord complete, a chain's next step): the drainer
--         applies it again (it counts once) and releases what follows. Any other member,
--         and one that is a parent too (ns:{q}:links), goes by the outbox.
-- Fencing: an entry this consumer no longer owns is left alone (another worker has it).
-- Per batch, not per job: one XPENDING of this consumer's entries (per level), one XACK,
-- one XDEL, and (when anyone waits in Job.result()) one HMGET of the waiters.
-- Returns {stream ids not settled because they were not owned, {job id, number of
-- callers blocked in Job.result()}... of finished jobs someone waits for}: the caller wakes
-- those (their notify keys are not named here; a missed wake costs a waiter one poll),
-- then {outbox entry id, job id, workflow links, job id, workflow links...} of the
-- finished jobs workflows wait to hear of ({} if none).
--#include now_ms
--#include levels
--#include queue_entry
--#include schedule_job
--#include tell_workflows
--#include workflow_links
--#include apply_members
local group, consumer = ARGV[1], ARGV[2]
local counters, batch = cjson.decode(ARGV[3]), cjson.decode(ARGV[4])
for c = 1, #counters, 2 do
  redis.call('HINCRBY', KEYS[8], counters[c], counters[c + 1])
end

local base = tonumber(ARGV[5])
-- Which entries of the batch this consumer still owns: one XPENDING per level, over only
-- the span of stream ids the batch has there (not every entry the consumer holds, which
-- can be thousands for a worker of long jobs at a high concurrency).
local function id_less(a, b)
  -- Stream ids "<ms>-<seq>" without leading zeros: a shorter ms part is smaller; with ms
  -- parts of one length, ids of one length compare as text (the common case: one string
  -- comparison); else the ms parts decide, then the shorter seq.
  local a_dash, b_dash = string.find(a, '-', 1, true), string.find(b, '-', 1, true)
  if a_dash ~= b_dash then return a_dash < b_dash end
  if #a == #b then return a < b end
  local a_ms, b_ms = string.sub(a, 1, a_dash), string.sub(b, 1, b_dash)
  if a_ms ~= b_ms then return a_ms < b_ms end
  return #a < #b
end
local spans = {}  -- level -> {lowest, highest} bare stream id of the batch's entries there
for j = 2, #batch, 6 do
  local level, sid = {{LEVEL_DEFAULT}}, batch[j]
  if base > 0 then level, sid = split_level(sid) end
  local span = spans[level]
  if not span then
    spans[level] = {sid, sid}
  elseif id_less(sid, span[1]) then
    span[1] = sid
  elseif id_less(span[2], sid) then
    span[2] = sid
  end
end
local mine = {}
local levels = {}  -- level -> stream ids to acknowledge there
for level, span in pairs(spans) do
  levels[level] = {}
  local stream_key = KEYS[level_slot(base, level, 1)]
  local held = redis.call('XPENDING', stream_key, group, span[1], span[2], 1000000, consumer)
  for _, p in ipairs(held) do mine[at_level(level, p[1])] = true end
end
local anyone_waiting = redis.call('HLEN', KEYS[7]) > 0

local finished, woken = {}, {}
-- workflows (begin) ------------------------------------------------------------------
-- The finished jobs of workflows (members, by their envelope's link, and parents, by
-- ns:{q}:links) go in one record in the queue's outbox, in this same step;
-- jobq.workflow.drain moves it to the workflows' own slots.
local links_at = 8 + #batch / 6 + 1
local links_key, outbox_key = KEYS[links_at], KEYS[links_at + 1]
local any_linked = redis.call('HLEN', links_key) > 0
local own, linked_members = {}, cjson.decode(ARGV[#ARGV])
for m = 1, #linked_members, 5 do own[linked_members[m]] = m end
local any_told = any_linked or #linked_members > 0
local told = {}
local applying, blobs = {}, {}  -- state KEYS index -> records to apply; job id -> blob
local function to_outbox(id, blob, succeeded)
  local m = own[id]
  local at = m and linked_members[m + 2] or 0
  if succeeded and at > 0 and not (any_linked and redis.call('HEXISTS', links_key, id) == 1) then
    local recs = applying[at]
    if not recs then recs = {}; applying[at] = recs end
    recs[#recs + 1], recs[#recs + 2] = id, linked_members[m + 3]
    recs[#recs + 1], recs[#recs + 2] = 'succeeded', linked_members[m + 4]
    blobs[id] = blob
    return
  end
  local wf = m and linked_members[m + 1]
  if any_linked then wf = workflow_links(links_key, id, wf or '') end
  if wf then told[#told + 1], told[#told + 2], told[#told + 3] = id, wf, blob end
end
-- workflows (end) --------------------------------------------------------------------
local function finish(id, result_key, ttl, blob, succeeded)
  finished[#finished + 1] = id
  if any_told then to_outbox(id, blob, succeeded) end
  if ttl ~= '0' then  -- as text: SET takes it as it came, with no number to format
    redis.call('SET', result_key, blob, 'EX', ttl)
  end
end

local lost, settled = {}, {}
for j = 1, #batch, 6 do
  local n = (j + 5) / 6
  local op, sid, id, ttl = batch[j], batch[j + 1], batch[j + 2], batch[j + 3]
  local x1, x2, x3 = ARGV[5 + n], batch[j + 4], batch[j + 5]
  local result_key = KEYS[8 + n]
  if not mine[sid] then
    lost[#lost + 1] = sid
  else
    mine[sid] = nil  -- a stream id listed twice is settled once
    settled[#settled + 1] = sid
    if op == 'retry' then
      local rec = redis.call('HGET', KEYS[2], id)
      if rec and string.sub(rec, 1, 1) == {{JOB_CANCEL_ASKED}} then
        finish(id, result_key, ttl, x3)
      else
        local delay = tonumber(x2)
        local level = base > 0 and split_level(sid) or {{LEVEL_DEFAULT}}
        if delay > 0 then
          schedule_job(KEYS[3], KEYS[4], KEYS[2], id, x1, now_ms() + delay, level)
        else
          queue_entry(KEYS[level_slot(base, level, 1)], KEYS[2], id, x1, level)
        end
      end
    elseif op == 'dead' then
      local did = redis.call('XADD', KEYS[5], '*', {{ENTRY_ENVELOPE}}, x1, {{ENTRY_DEAD_DETAILS}}, x2)
      -- Close the job's record only if it points at this entry: a forged or stray entry
      -- claiming someone else's id must not end that job.
      local rec = id ~= '' and redis.call('HGET', KEYS[2], id)
      if rec and string.sub(rec, 2) == sid then
        redis.call('HSET', KEYS[6], id, did)
        finish(id, result_key, ttl, x3)
      end
    else
      finish(id, result_key, ttl, x1, op == 'ok')
    end
  end
end

local CHUNK = 500
local function acknowledge(stream_key, sids)
  for c = 1, #sids, CHUNK do
    local ids = {unpack(sids, c, math.min(c + CHUNK - 1, #sids))}
    redis.call('XACK', stream_key, group, unpack(ids))
    redis.call('XDEL', stream_key, unpack(ids))
  end
end
if base == 0 then
  acknowledge(KEYS[1], settled)
else
  for _, ref in ipairs(settled) do
    local level, sid = split_level(ref)
    local at = levels[level]
    at[#at + 1] = sid
  end
  for level, sids in pairs(levels) do acknowledge(KEYS[level_slot(base, level, 1)], sids) end
end
for c = 1, #finished, CHUNK do
  local last = math.min(c + CHUNK - 1, #finished)
  redis.call('HDEL', KEYS[2], unpack(finished, c, last))
  if anyone_waiting then  -- one HMGET a chunk, not an HGET a job
    local waiting = redis.call('HMGET', KEYS[7], unpack(finished, c, last))
    for w = 1, #waiting do
      local n = tonumber(waiting[w] or '0')
      if n and n > 0 then woken[#woken + 1] = {finished[c + w - 1], n} end
    end
  end
end
for at, recs in pairs(applying) do  -- workflows
  if #apply_members(KEYS[at], recs, false)[4] > 0 then
    for r = 1, #recs, 4 do
      local id = recs[r]
      told[#told + 1], told[#told + 2], told[#told + 3] = id, linked_members[own[id] + 1], blobs[id]
    end
  end
end
local outboxed = {}
if #told > 0 then
  outboxed[1] = tell_workflows(outbox_key, told)
  for t = 1, #told, 3 do outboxed[#outboxed + 1], outboxed[#outboxed + 2] = told[t], told[t + 1] end
end
return {lost, woken, outboxed}
