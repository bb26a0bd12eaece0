"""Enable jobq's pytest fixtures: jobq_redis_url, jobq_isolate, jobq_worker."""

pytest_plugins = ["jobq.testing"]
