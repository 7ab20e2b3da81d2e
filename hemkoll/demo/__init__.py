"""``hemkoll demo``: hemkoll with a simulated cohort on one machine (docs/demo.md).

Embedded services when none are configured (a PostgreSQL cluster in the data directory,
hemkoll.local_services.postgres; ``broker``: Mosquitto with per-device passwords, on
hemkoll.local_services.mosquitto), hemkoll's own services in threads
(``services``), the simulated devices (``replay``), the running summary and the detection
report (``watch``, ``summary``, ``report``); ``run`` puts them together and takes them down.
"""
