"""Speaking to real monitoring and load-testing tools.

- ``metrics_table``: a run's metric families, derived generically from a Result; ``openmetrics``: them as
  OpenMetrics text for ``promtool`` backfilling; ``dashboard``: what the shipped Grafana panels would show;
- ``exporter``: ``sim serve``, a live ``/metrics`` endpoint replaying a run in scaled real time;
- ``loadtest_results`` and ``loadtest_readers``: Locust, JMeter and k6 results in one shape; ``fitting``:
  service-time fits with a goodness-of-fit statement, and the knee of the latency curve;
- ``calibrate``: a scenario calibrated from a load test; ``load_profiles`` (with ``load_scripts``): a scenario's
  load as a Locust module or a k6 script; ``files``: atomic writes.
"""
