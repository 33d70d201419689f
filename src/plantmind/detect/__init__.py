"""Streaming anomaly detection: detectors, alert lifecycle, explanations and feedback."""
