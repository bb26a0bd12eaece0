#!lua
-- Enqueue one run of a cron entry now, by hand, outside its schedule (`jobq cron trigger`).
-- It becomes the entry's latest run; the schedule's mark is left alone.
-- KEYS[1] stream   KEYS[2] jobs   KEYS[3] the entry's state hash ("ns:{q}:cron:<name>"),
-- then the level block (lib/levels.lua): the job goes to the level its envelope names
-- ARGV[1] job id   ARGV[2] envelope
-- Returns the stream id of the new entry.
--#include now_ms
--#include levels
--#include queue_entry
local level = envelope_level(ARGV[2])
use_level(4, level)
local sid = queue_entry(KEYS[level_slot(4, level, 1)], KEYS[2], ARGV[1], ARGV[2], level)
redis.call('HSET', KEYS[3], 'job', ARGV[1], 'fired', now_ms())
redis.call('HDEL', KEYS[3], 'skipped_at')
return sid
