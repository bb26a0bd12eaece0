#!lua flags=allow-oom
-- Workflows: apply "member finished" records to one workflow's state and say what follows
-- (lib/apply_members.lua: the state's fields, the actions, why a replay counts once).
-- KEYS[1] the workflow's state hash (its own slot)
-- ARGV[1] JSON array of 4 values per record, flattened: job id, member index (1-based,
--         from the job's link), state, value JSON (the result, or a failure description)
-- ARGV[2] "1": its producer has written all its jobs, so an unfinished state stops
--         expiring (the drainer's sweep cancels the jobs left waiting on a state whose
--         creation died half way, once its TTL has removed it)
-- Returns {n, ok, failed, actions} (lib/apply_members.lua).
--#include apply_members
return apply_members(KEYS[1], cjson.decode(ARGV[1]), ARGV[2] == '1')
