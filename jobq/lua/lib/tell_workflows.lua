-- tell_workflows(links_key, outbox_key, id, blob): if the finished job `id` is linked to
-- workflows (a member, or a parent of a waiting job), write its "member finished" record
-- to the queue's outbox and unlink it (jobq.workflow.drain moves the record on). Returns
-- the record's entry id and the workflow ids, or nil when it is linked to none.
local function tell_workflows(links_key, outbox_key, id, blob)
  local wf = redis.call('HGET', links_key, id)
  if not wf then return nil end
  local eid = redis.call('XADD', outbox_key, '*', {{OUTBOX_JOB}}, id, {{OUTBOX_WORKFLOWS}}, wf, {{OUTBOX_OUTCOME}}, blob)
  redis.call('HDEL', links_key, id)
  return eid, wf
end
