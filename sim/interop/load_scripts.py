"""The text of the scripts ``sim.interop.load_profiles`` writes (``str.format`` templates: ``{{`` is a brace)."""

LOCUST_COMMON = '''# Locust load for scenario {name}, written by `python -m sim export-load`.
#
# Run it against a system:  locust -f THIS_FILE --headless --host http://127.0.0.1:8080
# The shape stops the test after DURATION_S seconds, the scenario's duration. Requests are GET /<class> for
# reads and POST /<class> for writes, mixed by the scenario's class weights: edit the paths to fit the system.

import math
import random

from locust import HttpUser, LoadTestShape, constant_throughput, task

CLASSES = {classes}  # (name, weight, method)
DURATION_S = {duration_s}
RANDOM = random.Random({seed})  # the scenario's seed: the same script draws the same class mix and think times


def send(user):
    """One request of a class drawn by weight."""
    name, _weight, method = RANDOM.choices(CLASSES, weights=[item[1] for item in CLASSES])[0]
    user.client.request(method, "/" + name, name="/" + name)

'''

LOCUST_OPEN = '''
START_RPS = {start_rps}
STAGES = {stages}  # (duration_s, target_rps): a linear ramp from the previous target; 0 s jumps
PER_USER_RPS = {per_user_rps}  # each user starts this many requests a second (Locust runs users, not arrivals)
SPAWN_RATE = {spawn_rate}


def rate_at(time_s):
    """The scenario's arrival rate (req/s) at time_s."""
    clock, previous = 0.0, START_RPS
    for duration, target in STAGES:
        if time_s < clock + duration:
            return previous + (target - previous) * (time_s - clock) / duration
        clock, previous = clock + duration, target
    return previous


class ScenarioUser(HttpUser):
    wait_time = constant_throughput(PER_USER_RPS)

    @task
    def request(self):
        send(self)


class ScenarioShape(LoadTestShape):
    def tick(self):
        run_time = self.get_run_time()
        if run_time >= DURATION_S:
            return None
        return math.ceil(rate_at(run_time) / PER_USER_RPS - 1e-9), SPAWN_RATE
'''

LOCUST_CLOSED = '''
USERS = {users}
SPAWN_RATE = {spawn_rate}
THINK = {think}  # think time between a response and the user's next request


def think_time_s():
    kind = THINK["distribution"]
    if kind == "exponential":
        return RANDOM.expovariate(1000.0 / THINK["mean_ms"])
    if kind == "deterministic":
        return THINK["mean_ms"] / 1000.0
    if kind == "uniform":
        return RANDOM.uniform(THINK["low_ms"], THINK["high_ms"]) / 1000.0
    if kind == "lognormal":
        return RANDOM.lognormvariate(THINK["mu"], THINK["sigma"]) / 1000.0
    return RANDOM.choice(THINK["samples_ms"]) / 1000.0


class ScenarioUser(HttpUser):
    def wait_time(self):
        return think_time_s()

    @task
    def request(self):
        send(self)


class ScenarioShape(LoadTestShape):
    def tick(self):
        if self.get_run_time() >= DURATION_S:
            return None
        return USERS, SPAWN_RATE
'''

K6_SCRIPT = '''// k6 load for scenario {name}, written by `python -m sim export-load`.
// Run it against a system:  k6 run -e BASE_URL=http://127.0.0.1:8080 THIS_FILE
// Requests are GET /<class> for reads and POST /<class> for writes, mixed by the scenario's class weights:
// edit the paths to fit the system.
import http from 'k6/http';
import {{ sleep }} from 'k6';

export const options = {options};

const CLASSES = {classes}; // [name, weight, method]
const THINK = {think}; // think time of closed-workload users; null for open arrivals
const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8080';

function pickClass() {{
  let draw = Math.random();
  for (const item of CLASSES) {{
    draw -= item[1];
    if (draw < 0) return item;
  }}
  return CLASSES[CLASSES.length - 1];
}}

function standardNormal() {{
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}}

function thinkSeconds() {{
  switch (THINK.distribution) {{
    case 'exponential': return -Math.log(1 - Math.random()) * THINK.mean_ms / 1000;
    case 'deterministic': return THINK.mean_ms / 1000;
    case 'uniform': return (THINK.low_ms + Math.random() * (THINK.high_ms - THINK.low_ms)) / 1000;
    case 'lognormal': return Math.exp(THINK.mu + THINK.sigma * standardNormal()) / 1000;
    default: return THINK.samples_ms[Math.floor(Math.random() * THINK.samples_ms.length)] / 1000;
  }}
}}

export default function () {{
  const [name, , method] = pickClass();
  http.request(method, `${{BASE_URL}}/${{name}}`, null, {{ tags: {{ name: `/${{name}}` }} }});
  if (THINK !== null) sleep(thinkSeconds());
}}
'''
