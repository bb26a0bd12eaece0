"""The worker runtime: the consumer loop of one process, and the pool that supervises them."""

from jobq.worker.consumer import Worker
from jobq.worker.pool import Pool

__all__ = ["Pool", "Worker"]
