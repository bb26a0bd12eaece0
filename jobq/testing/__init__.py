"""Test helpers: run a real jobq worker inside the test process, against a real Redis.

No fakes: jobs go through Redis and the same Worker that `jobq worker` runs, so a test sees
what production does (JSON round trips, retries, dead letters, timeouts).

With pytest, enable the fixtures in your ``conftest.py``::

    pytest_plugins = ["jobq.testing"]

    def test_add(jobq_worker):
        jobq_worker(app)                      # app now on the test Redis, a worker running
        assert add.delay(1, 2).result(timeout=5) == 3

Fixtures:

- ``jobq_redis_url`` (session): ``$JOBQ_TEST_REDIS_URL`` if set, else a throwaway
  redis-server on a free port (skips the test, saying how to install one, if there is none).
- ``jobq_isolate``: ``jobq_isolate(app)`` points `app` at that Redis under a fresh
  namespace for this test, and puts it back afterwards (keys of the namespace are deleted).
- ``jobq_worker``: ``jobq_worker(app, queues=None, concurrency=4)`` isolates `app` and
  starts a BackgroundWorker, stopped at the end of the test.

Without pytest: ``drain(app)`` runs a worker in the calling thread until the queues are
empty; ``BackgroundWorker(app)`` runs one in a thread (``with`` it, or start()/stop()).
Importing this module never imports pytest: the fixtures are defined only when pytest is
already loaded (as it is when pytest loads this module as a plugin), so ``drain()`` works
where pytest is not installed.
"""

from __future__ import annotations

import sys

from jobq.testing.helpers import BackgroundWorker, drain, is_idle

__all__ = ["BackgroundWorker", "drain", "is_idle"]

if "pytest" in sys.modules:  # loaded by pytest (a plugin, or a test module): the fixtures too
    from jobq.testing.fixtures import jobq_isolate, jobq_redis_url, jobq_worker

    __all__ += ["jobq_isolate", "jobq_redis_url", "jobq_worker"]
