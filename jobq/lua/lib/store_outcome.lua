-- store_outcome(result_key, blob, env, ttl): keep a finished job's outcome for `ttl`
-- seconds. `blob` is a JSON object; the envelope text `env` (when given and valid JSON) is
-- added to it as a member, so what ran stays readable for as long as the outcome. An
-- envelope longer than {{OUTCOME_ENVELOPE_MAX}} characters is kept without its arguments,
-- its size noted instead (as jobq.envelope.kept_text does): large payloads must not hold
-- Redis memory after their job finished.
local function store_outcome(result_key, blob, env, ttl)
  local ok, body = pcall(cjson.decode, env or '')
  if ok and type(body) == 'table' and string.sub(blob, -1) == '}' then
    if #env > {{OUTCOME_ENVELOPE_MAX}} then
      body[{{ENVELOPE_ARGS}}], body[{{ENVELOPE_KWARGS}}] = nil, nil
      body[{{OUTCOME_CUT}}] = #env
      env = cjson.encode(body)
    end
    blob = string.sub(blob, 1, -2) .. {{OUTCOME_ENVELOPE_MEMBER}} .. env .. '}'
  end
  redis.call('SET', result_key, blob, 'EX', ttl)
end
