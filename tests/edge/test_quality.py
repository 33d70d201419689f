"""The quality gate drops NaN/inf, out-of-order and duplicate samples, counts them, and lets
the rest of the batch through."""

from __future__ import annotations

import numpy as np

from plantmind.core.types import SampleBatch
from plantmind.detect.quality import QualityGate


def test_gate_filters_and_counts():
    gate = QualityGate(3)
    b = SampleBatch(
        [0, 0, 1, 1, 2, 0, 2, 1],
        [1.0, 2.0, 1.0, 1.0, np.nan, 0.5, 3.0, 2.0],
        [1.0, np.nan, 5.0, 6.0, 1.0, 2.0, np.inf, 7.0],
    )
    clean, dropped = gate.filter(b)
    assert clean.signal.tolist() == [0, 1, 1]
    assert clean.ts.tolist() == [1.0, 1.0, 2.0]
    assert dropped == {
        "not finite": {0: 1, 2: 1},
        "duplicate timestamp": {1: 1},
        "out of order": {0: 1},
        "invalid timestamp": {2: 1},
    }
    assert gate.counters.total() == 5
    # the next batch is judged against the last accepted time per signal
    clean, dropped = gate.filter(SampleBatch([0, 1], [0.5, 3.0], [1.0, 1.0]))
    assert clean.signal.tolist() == [1] and dropped == {"out of order": {0: 1}}


def test_clean_batch_passes_untouched():
    gate = QualityGate(2)
    b = SampleBatch([0, 1], [1.0, 1.0], [1.0, 2.0])
    clean, dropped = gate.filter(b)
    assert clean is b and dropped == {}
