"""A chaos run with a checker: real worker pools, a scheduler and a Redis server with AOF,
a seeded schedule of faults (processes killed, Redis stopped and killed, connections cut
mid-reply, a skewed clock), and a checker that reads every job's fate at the end.

Run it with `python -m benchmarks.chaos --seconds 60 --seed 1`; see the README's
reliability section for what it injects and what the verdict means.
"""
