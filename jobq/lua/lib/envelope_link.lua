-- envelope_link(env): the workflow member link an envelope carries, "" if none (or if the
-- text is not a JSON object).
local function envelope_link(env)
  if not env then return '' end
  local ok, body = pcall(cjson.decode, env)
  local link = ok and type(body) == 'table' and body[{{ENVELOPE_WORKFLOW}}]
  return type(link) == 'string' and link or ''
end
