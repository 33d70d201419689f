"""Persistence: the edge node's SQLite store (alerts, events, downsampled samples) and the
in-memory ring of recent samples."""
