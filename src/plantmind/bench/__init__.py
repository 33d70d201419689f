"""Benchmark runners behind ``plantmind bench ...``; reports go where the user says."""
