-- store_outcome(result_key, blob, env, ttl): keep a finished job's outcome for `ttl`
-- seconds. `blob` is a JSON object; the envelope text `env` (when given and valid JSON) is
-- added to it as a member, so what ran stays readable for as long as the outcome.
local function store_outcome(result_key, blob, env, ttl)
  if env and pcall(cjson.decode, env) and string.sub(blob, -1) == '}' then
    blob = string.sub(blob, 1, -2) .. {{OUTCOME_ENVELOPE_MEMBER}} .. env .. '}'
  end
  redis.call('SET', result_key, blob, 'EX', ttl)
end
