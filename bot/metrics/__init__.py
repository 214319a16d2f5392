"""Prometheus metrics of the three servers (docs/operations.md, "Metrics and alerts").

Each server exposes GET /metrics behind `Authorization: Bearer <RIS3_METRICS_TOKEN>`, a token of its own so
that the monitoring system holds no secret that could run actions or push messages. The modules here are
imported by both runtimes (Python 3.10 under Rasa, 3.11 for the action server and the back office).
"""
