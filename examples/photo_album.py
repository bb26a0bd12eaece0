"""A chord with progress: resize every photo in parallel, then build the album once.

`jobq.chord(members, callback).delay()` runs the members in parallel; the callback gets
the list of their results, in order, and is enqueued exactly once, after the last member
succeeded, even if workers crash in between. Each member reports its progress with
`jobq.current_job().set_progress(...)`; the producer reads it with `job.progress()` and
the group's counts with `handle.group.counts()`.

Run it from this folder, with Redis on localhost (or JOBQ_REDIS_URL set):

    jobq worker photo_album -c 8     # terminal 1
    python photo_album.py            # terminal 2
"""

from __future__ import annotations

import time

import jobq

app = jobq.App()

PHOTOS = [f"IMG_{n:04d}.jpg" for n in range(1, 11)]


@app.task(name="album.resize")
def resize(photo: str, width: int = 800) -> str:
    steps = 4
    for step in range(1, steps + 1):
        time.sleep(0.05)  # stands in for decoding, scaling and encoding
        jobq.current_job().set_progress(step / steps, f"{photo}: pass {step} of {steps}")
    return photo.replace(".jpg", f"-{width}.jpg")


@app.task(name="album.build")
def build_album(thumbnails: list[str], title: str) -> str:
    jobq.current_job().set_progress(1.0, f"{len(thumbnails)} photos laid out")
    return f"{title}: {len(thumbnails)} photos, first {thumbnails[0]}, last {thumbnails[-1]}"


def main() -> None:
    album = jobq.chord([resize.s(p) for p in PHOTOS], build_album.s("Holiday 2026")).delay()
    print("album job:", album.status())
    first = album.group.jobs[0]
    result = album.result(timeout=30)
    counts = album.group.counts()
    print(f"members: {counts.finished} of {counts.total} finished, {counts.failed} failed")
    progress = first.progress()
    assert progress is not None
    print(f"first member's progress: {progress.fraction:.0%} ({progress.message})")
    print("album:", result)
    print("album progress:", album.progress())


if __name__ == "__main__":
    main()
