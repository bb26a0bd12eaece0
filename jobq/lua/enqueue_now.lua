#!lua
-- Enqueue jobs that run now, at the default priority level, under ids jobq made: what
-- delay() and delay_many() send. Nothing to decide per job, so the call carries two keys
-- and two values a job (enqueue.lua handles delays, chosen ids and other levels).
-- KEYS[1] stream   KEYS[2] jobs
-- ARGV: job id, envelope, for each job (at most 2,000 jobs: unpack() has a stack to fit in)
-- Returns the number of jobs enqueued (all of them).
-- (The producer creates the queue's consumer group once, before its first enqueue.)
--#include queue_entry

if #ARGV == 2 then
  queue_entry(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
  return 1
end
local records = {}
for i = 1, #ARGV, 2 do
  queue_entry(KEYS[1], KEYS[2], ARGV[i], ARGV[i + 1], nil, records)
end
redis.call('HSET', KEYS[2], unpack(records))
return #ARGV / 2
