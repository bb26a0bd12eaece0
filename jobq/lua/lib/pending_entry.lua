-- pending_entry(stream_key, group, sid): the group's pending entry for stream id `sid`,
-- {sid, owner, idle ms, times delivered}, or nil when it is not delivered (or acked).
-- Raises when the group does not exist: callers that tolerate that call it through pcall.
local function pending_entry(stream_key, group, sid)
  return redis.call('XPENDING', stream_key, group, sid, sid, 1)[1]
end
