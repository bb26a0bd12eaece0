-- tell_workflows(outbox_key, told): write one "members finished" record to the queue's
-- outbox for the finished jobs in `told`, a flat list of job id, workflow links (space-
-- separated), outcome blob (a JSON object, embedded as it is); jobq.workflow.drain moves
-- it on to the workflows. Returns the record's entry id.
local function tell_workflows(outbox_key, told)
  local parts = {}
  for i = 1, #told, 3 do
    parts[#parts + 1] = '[' .. cjson.encode(told[i]) .. ',' .. cjson.encode(told[i + 1]) .. ',' .. told[i + 2] .. ']'
  end
  return redis.call('XADD', outbox_key, '*', {{OUTBOX_MEMBERS}}, '[' .. table.concat(parts, ',') .. ']')
end
