"""The detector contract: a causal, online scorer of many signals at once, fed columnar batches.

Every detector passes the same conformance checks (``tests/detect/test_detector_conformance.py``):
the score at time t does not change when data after t changes; NaN, gaps and a signal that
stops reporting are survived; state saves and restores; memory per signal is bounded.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from plantmind.core.types import SampleBatch

__all__ = ["AssetDetector", "Detector", "Scores", "append_state"]


@dataclass(slots=True)
class Scores:
    """Per-sample output of a detector, parallel to the batch it scored.

    ``score`` is in [0, 1] (0.5 is the detector's own alarm point for that signal), ``channel``
    says which mechanism produced it (detector-specific codes, see the detector's
    ``CHANNELS``), and ``deviation`` is the mechanism's statistic in its own unit (e.g. how many
    normal-range widths above the range), used to explain alerts.
    """

    score: np.ndarray
    channel: np.ndarray
    deviation: np.ndarray

    @classmethod
    def allocate(cls, batch: SampleBatch, n_signals: int) -> Scores:
        """Uninitialised outputs for ``batch``, after checking its signal indices."""
        n = len(batch)
        if n and (batch.signal.min() < 0 or batch.signal.max() >= n_signals):
            raise IndexError(f"signal index out of range 0..{n_signals - 1}")
        return cls(np.empty(n), np.empty(n, np.int8), np.empty(n))


def append_state(
    state: dict[str, np.ndarray], fresh: dict[str, np.ndarray], fields: tuple[str, ...]
) -> None:
    """Grow per-signal state arrays by the rows of ``fresh`` (new signals start untrained)."""
    for name in fields:
        old = state.get(name)
        state[name] = fresh[name] if old is None else np.concatenate([old, fresh[name]])


class Detector(abc.ABC):
    """Online anomaly detector over ``n_signals`` signals, identified by their integer index."""

    #: Names of the mechanisms reported in :attr:`Scores.channel`.
    CHANNELS: tuple[str, ...] = ()
    #: Channels whose single alarming sample is already confirmed (e.g. a spike, judged one
    #: sample late after the step back), so alert logic need not wait for it to persist.
    CONFIRMED_CHANNELS: tuple[int, ...] = ()
    #: Channels that speak of the sensor rather than the equipment (a stuck reading, an
    #: isolated spike): an alert raised on one alone is a data-quality warning.
    SENSOR_CHANNELS: tuple[int, ...] = ()

    @property
    @abc.abstractmethod
    def n_signals(self) -> int: ...

    @abc.abstractmethod
    def score_batch(self, batch: SampleBatch) -> Scores:
        """Score every sample of ``batch`` (in order) and learn from it."""

    @abc.abstractmethod
    def resize(self, n_signals: int) -> None:
        """Grow to ``n_signals`` (new signals start untrained); existing state is kept."""

    @abc.abstractmethod
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything needed to resume scoring exactly where it stopped."""

    @abc.abstractmethod
    def load_state_dict(self, state: dict[str, np.ndarray]) -> None: ...

    @property
    def warmup(self) -> int:
        """Samples per signal a detector learns from before its scores mean anything."""
        return 0

    def normal_range(self, signal: int) -> tuple[float, float] | None:
        """The learned normal range of ``signal``, if the detector learns one (else None)."""
        return None

    def describe(
        self,
        signal: int,
        channel: int,
        deviation: float,
        *,
        reading: str,
        signal_id: str,
        unit: str,
        value: float = float("nan"),
    ) -> str:
        """Words for ``signal``'s contribution to an alert (``reading``: "id = value unit",
        ``value``: the reading as a number);
        detectors override this with terms of their own mechanisms."""
        name = self.CHANNELS[channel] if 0 <= channel < len(self.CHANNELS) else "anomaly"
        return f"{reading}, {name} ({deviation:.3g})"

    def feedback(self, signal: int, kind: str, score: float) -> None:  # noqa: B027 - optional
        """Operator feedback on an alert that involved ``signal``: ``kind`` is ``false_alarm``
        or ``missed``; ``score`` is the score the alert reached (or should have)."""

    @property
    def bytes_per_signal(self) -> int:
        """Memory of the detector's state per signal."""
        state = self.state_dict()
        n = max(self.n_signals, 1)
        return int(sum(v.nbytes for v in state.values()) // n)


class AssetDetector(abc.ABC):
    """Online detector of one asset's signals taken together (rows of ``n_signals`` values):
    relationships between signals rather than each signal alone. Every asset detector passes
    ``tests/detect/test_asset_detector_conformance.py`` (causal, NaN, state, pickling,
    bounded memory)."""

    @property
    @abc.abstractmethod
    def n_signals(self) -> int: ...

    @abc.abstractmethod
    def fit(self, history: np.ndarray) -> AssetDetector:
        """Learn normal behaviour from a normal history ``(n_samples, n_signals)``."""

    @abc.abstractmethod
    def update(
        self, x: np.ndarray
    ) -> tuple[float, bool, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Score one row or a block of rows in order, causally: ``(score, alarm,
        contributions)`` per row."""

    @abc.abstractmethod
    def explain(
        self,
        contributions: np.ndarray,
        signal_names: list[str] | None = None,
        top: int = 3,
        deviations: np.ndarray | None = None,
    ) -> str:
        """Words for the signals that contributed most to one row's score."""

    @abc.abstractmethod
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything needed to resume scoring exactly where it stopped."""

    @abc.abstractmethod
    def load_state_dict(self, state: dict[str, np.ndarray]) -> None: ...
