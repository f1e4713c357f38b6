"""Locust users for the calibration test: each sends a request, then thinks for an exponential time.

With ``PING=1`` a quarter of the requests go to ``/ping``, which does no work: its latency is the network's and
the client's alone, the baseline ``sim calibrate --baseline /ping`` subtracts. ``THINK_MS`` is the mean think
time; users and run time come from the command line (headless).
"""

from __future__ import annotations

import os
import random

from locust import FastHttpUser

THINK_S = float(os.environ.get("THINK_MS", "250")) / 1000.0
PING = os.environ.get("PING") == "1"


def work(user: FastHttpUser) -> None:
    user.client.get("/", name="/")


def ping(user: FastHttpUser) -> None:
    user.client.get("/ping", name="/ping")


class Client(FastHttpUser):
    tasks = {work: 3, ping: 1} if PING else [work]

    def wait_time(self) -> float:
        return random.expovariate(1.0 / THINK_S)
