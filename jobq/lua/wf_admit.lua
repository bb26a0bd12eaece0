#!lua flags=allow-oom
-- Workflows: record, release or cancel the waiting jobs of workflows in one queue
-- (jobq.workflow; the jobs that run at once are enqueued as any job is).
-- KEYS[1] stream   KEYS[2] jobs   KEYS[3] links   KEYS[4] outbox, then the result key of
-- each cancel and link item, in order, then the level block (lib/levels.lua): a job is
-- queued at the priority level its envelope names
-- ARGV: 4 values per item: op, job id, workflow id, x
--   wait    record the job as waiting on the workflow (W<workflow id>), unless known
--   run     enqueue a waiting job (x: envelope); a no-op unless it is still waiting, so
--           replaying the same release never runs a step twice
--   cancel  close a waiting job as cancelled (x: outcome blob); a job waiting on it in
--           turn learns it through the outbox: then the reply is that record's entry id
--   link    make the workflow hear when this job finishes (it is a parent of the
--           workflow's waiting job): returns 1 if it is unfinished, else its stored
--           outcome blob (it finished already), or 0 if it is unknown
-- ARGV[#ARGV] result ttl s of cancelled jobs. A links value is a space-separated list of
-- workflow links (a job may be a parent in several workflows).
-- Returns one value per item: 1 done, 0 no-op (link: see above).
--#include levels
--#include queue_entry
--#include tell_workflows
--#include workflow_links
local ttl = tonumber(ARGV[#ARGV])
local base = #KEYS - 10
local function enter(id, env)
  local level = envelope_level(env)
  use_level(base, level)
  queue_entry(KEYS[level_slot(base, level, 1)], KEYS[2], id, env, level)
end
local out, result_keys = {}, 4
local function waiting(id)
  local rec = redis.call('HGET', KEYS[2], id)
  return rec and string.sub(rec, 1, 1) == {{JOB_WAITING}}
end
local function link(id, wf)
  local linked = redis.call('HGET', KEYS[3], id)  -- other dependents may have linked it
  redis.call('HSET', KEYS[3], id, linked and (linked .. ' ' .. wf) or wf)
end
for i = 1, #ARGV - 1, 4 do
  local op, id, wf, x = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local done = 0
  if op == 'wait' then
    done = redis.call('HSETNX', KEYS[2], id, {{JOB_WAITING}} .. wf)
  elseif op == 'run' then
    if waiting(id) then
      enter(id, x)
      done = 1
    end
  elseif op == 'link' then
    result_keys = result_keys + 1
    if redis.call('HEXISTS', KEYS[2], id) == 1 then
      link(id, wf)
      done = 1
    else
      done = redis.call('GET', KEYS[result_keys]) or 0
    end
  elseif op == 'cancel' then
    result_keys = result_keys + 1
    if waiting(id) then
      redis.call('HDEL', KEYS[2], id)
      if ttl > 0 then redis.call('SET', KEYS[result_keys], x, 'EX', ttl) end
      local wf = workflow_links(KEYS[3], id, '')  -- a parent too: tell its dependents
      done = wf and tell_workflows(KEYS[4], {id, wf, x}) or 1
    end
  end
  out[#out + 1] = done
end
return out
