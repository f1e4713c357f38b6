"""Speaking to real monitoring and load-testing tools.

- ``openmetrics``: a run's time series as OpenMetrics text for ``promtool`` backfilling (``metrics_table`` holds
  the families, derived generically from a Result);
- ``exporter``: ``sim serve``, a live ``/metrics`` endpoint replaying a run in scaled real time;
- ``loadtest_results``: reading Locust, JMeter and k6 results; ``fitting``: service-time fits and the knee;
- ``calibrate``: a scenario calibrated from a load test; ``load_profiles``: a scenario's load as Locust or k6.
"""
