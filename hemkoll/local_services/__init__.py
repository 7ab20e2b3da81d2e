"""PostgreSQL and Mosquitto started on this machine, for the tests, the benchmarks and the demo.

One launcher per service, each on a free local port: ``mosquitto`` (a broker with hemkoll's
queue limits, on a configuration written here), ``deployed_mosquitto`` (a broker on the deployed
configuration files, moved into a folder; ``tls`` makes its throwaway certificates),
``postgres`` (the demo's embedded cluster, a child that dies with its parent) and
``postgres_cluster`` (a throwaway cluster that can be restarted or crashed, for the fault and
soak benchmarks). ``ports`` finds a free port and waits for a listener; ``children`` starts a
child process that never outlives its parent.

A shipped package rather than test code: ``hemkoll demo`` needs it on an installed system, and
the benchmarks, which are scripts, must not import the tests.
"""
