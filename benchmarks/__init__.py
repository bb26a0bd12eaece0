"""jobq's benchmark suite: ``python -m benchmarks.run [--quick] [--out DIR]``.

Not part of the installed package. Every workload runs against a private redis-server
that the runner starts on a free port and stops at the end; workers are the real
``jobq worker`` console script.
"""
