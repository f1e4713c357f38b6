"""A tiny HTTP service with a known service time and a worker limit: the system under test for real load tests.

Each request waits in one FIFO queue for one of ``--workers`` workers, which holds it for a service time drawn
from a seeded lognormal distribution (``--service-ms`` mean, ``--cv`` coefficient of variation), then answers
200 (``GET /ping`` answers at once, without a worker). That is an M/G/c station, so the sandbox's physics can
be held to it. Connections are handled by their own threads (HTTP/1.1,
keep-alive) behind a listen backlog of 1024, so the only queue is the workers' one.

Usage: ``python tests/loadtest/server.py --port 8080 --workers 2 --service-ms 20 --cv 0.5 --seed 1``; stop it by PID.
"""

from __future__ import annotations

import argparse
import collections
import math
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    request_queue_size = 1024  # the standard library's default of 5 drops connections under a burst
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a load tool that stops mid-request closes its connections: not an error worth a traceback


class WorkerPool:
    """At most ``workers`` requests in service; the rest wait in arrival order (FIFO) for a worker to free up.

    A request is served on its own connection thread once it holds a worker: no hand-off to another thread,
    so the service time is the drawn sleep and little else. A finishing request hands its worker straight to
    the longest-waiting one.
    """

    def __init__(self, workers: int, service_ms: float, cv: float, seed: int) -> None:
        self.free = workers
        self.waiting: collections.deque[threading.Event] = collections.deque()
        self.lock = threading.Lock()
        self.random = random.Random(seed)
        self.sigma = math.sqrt(math.log1p(cv * cv))
        self.mu = math.log(service_ms / 1000.0) - self.sigma**2 / 2  # so the mean is service_ms

    def serve(self) -> None:
        with self.lock:
            turn = None
            if self.free > 0:
                self.free -= 1
            else:
                turn = threading.Event()
                self.waiting.append(turn)
            service_s = self.random.lognormvariate(self.mu, self.sigma)
        if turn is not None:
            turn.wait()
        time.sleep(service_s)
        with self.lock:
            if self.waiting:
                self.waiting.popleft().set()
            else:
                self.free += 1


def handler(pool: WorkerPool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else headers and body, two small writes, can wait 40 ms for an ACK

        def do_GET(self) -> None:
            self._answer(work=self.path != "/ping")

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer(work=True)

        def _answer(self, work: bool) -> None:
            if work:  # /ping skips the workers: its response time is the network's and the client's alone
                pool.serve()
            body = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per request would cost more than the request

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--service-ms", type=float, default=20.0)
    parser.add_argument("--cv", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    pool = WorkerPool(options.workers, options.service_ms, options.cv, options.seed)
    with Server(("127.0.0.1", options.port), handler(pool)) as server:
        print(f"listening on http://127.0.0.1:{options.port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
