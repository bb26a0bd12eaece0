#!lua
-- Decide one cron tick and, if it is to run, enqueue its job: one step, in the queue's slot,
-- so any number of schedulers offering the same tick enqueue it once.
-- KEYS[1] stream   KEYS[2] jobs   KEYS[3] the entry's state hash ("ns:{q}:cron:<name>")
-- KEYS[4] result key of the tick's job, then the level block (lib/levels.lua): the job is
-- queued at the priority level its envelope names
-- ARGV[1] due time of the tick (ms, Redis clock)   ARGV[2] job id (the tick id)
-- ARGV[3] envelope   ARGV[4] misfire grace (ms)   ARGV[5] catch_up ("1" / "0")
-- ARGV[6] overlap policy ("allow" / "skip")   ARGV[7] grace for an entry with no state yet
-- (ms; a new entry does not run ticks that fell due before any scheduler knew it)
-- State fields: mark (ticks at or before it are decided for good), tick (due of the last
-- fired tick), job (id of the latest run), fired (ms it was enqueued), skipped, skipped_at
-- and skip_why (the due time of the last tick left out, when that was decided, and why;
-- skipped_at is cleared by the next run, so it marks a skip since the latest run).
-- Returns {outcome, ms late}, outcome one of:
--   fired     enqueued now
--   decided   decided before (by another scheduler, or by this one before it restarted)
--   missed    later than the grace: no scheduler ran at its time (with catch_up the
--             latest such tick runs instead)
--   new       the first tick seen of a new entry, due before any scheduler knew it: not run,
--             nor is any other tick due by now (the mark moves to now)
--   overlap   left out: the entry's previous run is unfinished (overlap "skip")
--   early     not due on this server's clock yet: offer it again later
--#include now_ms
--#include levels
--#include queue_entry
local now = now_ms()
local due_text, id = ARGV[1], ARGV[2]
local due = tonumber(due_text)
local late = now - due
if late < 0 then
  return {'early', late}
end
local mark = redis.call('HGET', KEYS[3], 'mark')
if mark and tonumber(mark) >= due then
  return {'decided', late}
end
if redis.call('HEXISTS', KEYS[2], id) == 1 or redis.call('EXISTS', KEYS[4]) == 1 then
  -- the state was lost but this tick's job is pending or finished: it ran already
  redis.call('HSET', KEYS[3], 'mark', due_text)
  return {'decided', late}
end
if not mark and late > tonumber(ARGV[7]) then
  -- first sight of this entry: no tick due before now is its to run, however many a
  -- starting scheduler offers
  redis.call('HSET', KEYS[3], 'mark', now)
  return {'new', late}
end
if late > tonumber(ARGV[4]) and not (mark and ARGV[5] == '1') then
  redis.call('HSET', KEYS[3], 'mark', due_text, 'skipped', due_text, 'skipped_at', now, 'skip_why', 'missed')
  return {'missed', late}
end
local previous = redis.call('HGET', KEYS[3], 'job')
if ARGV[6] == 'skip' and previous and redis.call('HEXISTS', KEYS[2], previous) == 1 then
  redis.call('HSET', KEYS[3], 'mark', due_text, 'skipped', due_text, 'skipped_at', now, 'skip_why', 'overlap')
  return {'overlap', late}
end
local level = envelope_level(ARGV[3])
use_level(5, level)
queue_entry(KEYS[level_slot(5, level, 1)], KEYS[2], id, ARGV[3], level)
redis.call('HSET', KEYS[3], 'mark', due_text, 'tick', due_text, 'job', id, 'fired', now)
redis.call('HDEL', KEYS[3], 'skipped_at')  -- a skip is reported only until the next run
return {'fired', late}
