"""Signed model delivery: manifests and their signatures (:mod:`.signing`, :mod:`.manifest`),
the content-addressed store (:mod:`.store`), the hub's registry with aliases and staged
rollouts (:mod:`.registry`, :mod:`.rollout`), air-gap bundles (:mod:`.bundle`) and the edge
agent that pulls, verifies, activates and rolls back (:mod:`.agent`, :mod:`.activators`).
See ``docs/models.md``."""
