"""Operators' view of the running services: Prometheus metrics and health endpoints.

``metrics`` defines every hemkoll metric (one place, so names stay consistent and documented in
docs/operations.md); ``backlog`` samples the database-wide queues; ``server`` serves
``/metrics`` and ``/healthz`` for the workers (the API serves its own).
"""
