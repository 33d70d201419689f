"""Sources of samples: one module per protocol or source, each an async source of SampleBatch."""
