"""``plantmind demo``: the simulated plant monitored by an edge service with an in-process
hub, and what only the demo needs: the pump health model trained on simulated bearing wear
(``pump``), the inspection station on generated parts (``inspection``, ``parts``). An entry
point like the CLI: it wires the apps together; no capability imports it."""
