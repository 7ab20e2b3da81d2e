"""Device protocol v1, pure: no I/O (docs/protocol.md).

``measurements``: the clinical measurement catalogue (metrics, UCUM units, LOINC codes, plausible
ranges, unit conversion); ``topics``: MQTT topics and QoS; ``payload``: parsing and checking a
readings message; ``feedback``: what a device is told about its message. Ingest, the rules, the
API and the simulator all build on it; it depends only on the store's value types.
"""
