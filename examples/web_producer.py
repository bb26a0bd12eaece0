"""A producer inside a web server (standard library only): the request enqueues the slow
work and answers at once; the client asks for the outcome later.

    POST /signup  {"email": "ada@example.com"}   -> 202 {"job": ID, "status_url": "/jobs/ID"}
    GET  /jobs/ID                                -> 200 {"id", "status", "result"}

The job id is derived from the email (an idempotency key): a double-clicked signup gets
the same job back while the first one is unfinished, so it sends one welcome mail, not two.

Run it from this folder, with Redis on localhost (or JOBQ_REDIS_URL set):

    jobq worker web_producer                 # terminal 1
    python web_producer.py --port 8000       # terminal 2
    curl -s -XPOST localhost:8000/signup -d '{"email": "ada@example.com"}'
    curl -s localhost:8000/jobs/welcome-ada@example.com
"""

from __future__ import annotations

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jobq

app = jobq.App()


@app.task(name="web_producer.send_welcome", queue="mail", retries=5)
def send_welcome(email: str) -> str:
    """Stands in for talking to a mail service: slow, so not done inside the request."""
    time.sleep(0.2)
    return f"welcome mail sent to {email}"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        if self.path != "/signup":
            return self.reply(404, {"error": "not found"})
        try:
            length = int(self.headers.get("Content-Length") or 0)
            email = str(json.loads(self.rfile.read(length))["email"])
        except (ValueError, KeyError, TypeError):
            return self.reply(400, {"error": 'expected a JSON body like {"email": "..."}'})
        try:
            job = send_welcome.enqueue(args=(email,), job_id=f"welcome-{email}")
        except jobq.JobqError as exc:  # Redis unreachable, payload too large...
            return self.reply(503, {"error": str(exc)})
        return self.reply(202, {"job": job.id, "status_url": f"/jobs/{job.id}"})

    def do_GET(self) -> None:
        if not self.path.startswith("/jobs/"):
            return self.reply(404, {"error": "not found"})
        job = app.job(self.path.removeprefix("/jobs/"))
        try:
            status = job.status()
        except jobq.JobNotFound:
            return self.reply(404, {"error": "no such job"})
        body: dict[str, Any] = {"id": job.id, "status": status}
        if status == "succeeded":
            body["result"] = job.result(timeout=1)
        return self.reply(200, body)

    def reply(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep the example's output to what it prints itself


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    port = parser.parse_args().port
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
