"""A tiny HTTP service with a known service time and a worker limit: the system under test for real load tests.

Each request waits in one FIFO queue for one of ``--workers`` workers, which holds it for a service time drawn
from a seeded lognormal distribution (``--service-ms`` mean, ``--cv`` coefficient of variation), then answers
200 (``GET /ping`` answers at once, without a worker). That is an M/G/c station, so the sandbox's physics can
be held to it.

One asyncio event loop serves every connection (HTTP/1.1 with keep-alive, a listen backlog of 1024, Nagle off):
a worker is a slot, a service is a timer, and a finishing request hands its slot to the longest-waiting one
within the loop. No thread has to wake up for a hand-off, so a worker is busy for its service time alone, at
light load and under a backlog alike (threads gave the service time an extra wake-up delay in one regime or
the other, which showed as a bias between the two loads of tests/test_locust.py).

Usage: ``python tests/loadtest/server.py --port 8080 --workers 2 --service-ms 20 --cv 0.5 --seed 1``; stop it by
PID.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import math
import random

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"
MAX_HEADER_BYTES = 65536


class WorkerPool:
    """At most ``workers`` requests in service; the rest wait in arrival order for a slot."""

    def __init__(self, workers: int, service_ms: float, cv: float, seed: int) -> None:
        self.free = workers
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self.random = random.Random(seed)
        self.sigma = math.sqrt(math.log1p(cv * cv))
        self.mu = math.log(service_ms / 1000.0) - self.sigma**2 / 2  # so the mean is service_ms

    async def serve(self) -> None:
        service_s = self.random.lognormvariate(self.mu, self.sigma)
        if self.free > 0:
            self.free -= 1
        else:
            turn = asyncio.get_running_loop().create_future()
            self.waiting.append(turn)
            await turn  # the slot is handed over, not freed and retaken
        try:
            await asyncio.sleep(service_s)
        finally:
            self._release()

    def _release(self) -> None:
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1


async def handle(pool: WorkerPool, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer requests on one connection until the client closes it."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {name.strip().lower(): value.strip() for name, _sep, value in
                       (line.partition(":") for line in lines[1:] if line)}
            length = int(headers.get("content-length") or 0)
            if length:
                await reader.readexactly(length)
            path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
            if path != "/ping":  # /ping skips the workers: its time is the network's and the client's alone
                await pool.serve()
            writer.write(RESPONSE)
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        pass  # a client that goes away mid-request (a load tool stopping) is not an error
    finally:
        writer.close()


async def main(port: int, pool: WorkerPool) -> None:
    server = await asyncio.start_server(lambda reader, writer: handle(pool, reader, writer), "127.0.0.1", port,
                                        backlog=1024, limit=MAX_HEADER_BYTES)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--service-ms", type=float, default=20.0)
    parser.add_argument("--cv", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    asyncio.run(main(options.port, WorkerPool(options.workers, options.service_ms, options.cv, options.seed)))
