"""Store-and-forward from a site to the central hub: outbox, egress policy, audit, transports."""
