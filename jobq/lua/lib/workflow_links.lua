-- workflow_links(links_key, id, own): the workflows a finished job must tell, or nil for
-- none: `own`, the member link its envelope carries ("" if none), and the workflows it is
-- a parent in (ns:{q}:links, removed here: it is told once).
local function workflow_links(links_key, id, own)
  local parent = redis.call('HGET', links_key, id)
  if parent then redis.call('HDEL', links_key, id) end
  if own == '' then return parent end
  return parent and (own .. ' ' .. parent) or own
end
