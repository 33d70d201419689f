"""plantmind: the right AI model at each link of a factory, from the machine to the enterprise centre."""

__version__ = "0.1.0"
