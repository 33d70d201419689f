"""The plant model, the shared types every capability speaks, and time and id helpers."""
