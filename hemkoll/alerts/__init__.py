"""Alerts: the I/O around the pure rules engine (``hemkoll.rules``).

``worker``: ``hemkoll rules``, which evaluates patients as ingest queues them (and on schedule)
and applies the findings to their alerts; ``nurse_actions``: acknowledge, resolve and assign;
``configuration``: a patient's effective rules (programme, centre and patient overrides) and
changing them; ``what_if``: what a proposed rule set would have flagged over stored readings;
``patient_messages``: what the patient reads on the device about her alerts.
"""
