#!lua
-- Enqueue one run of a cron entry now, by hand, outside its schedule (`jobq cron trigger`).
-- It becomes the entry's latest run; the schedule's mark is left alone.
-- KEYS[1] stream   KEYS[2] jobs   KEYS[3] the entry's state hash ("ns:{q}:cron:<name>")
-- ARGV[1] job id   ARGV[2] envelope
-- Returns the stream id of the new entry.
--#include now_ms
--#include queue_entry
local sid = queue_entry(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], 'job', ARGV[1], 'fired', now_ms())
redis.call('HDEL', KEYS[3], 'skipped_at')
return sid
