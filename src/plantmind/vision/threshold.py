"""Verdict thresholds set from good images alone, refined by labels.

Without any defect sample the fail threshold is the (1 − false-reject-rate) quantile of the
scores of held-out good images: by construction about ``false_reject_rate`` of good parts fail.
Between a lower "review" threshold and the fail threshold a part is *uncertain* and goes to an
operator. Labels refine this: operator-confirmed good parts join the good scores (the fail
threshold follows them), and known defects that score inside the good range pull the review
threshold down, so that such parts are reviewed rather than passed; the review band is capped so
that at most ``review_budget`` × false-reject-rate of good parts are sent for review.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["MIN_GOOD", "NotEnoughGoodImages", "Thresholds", "Verdict"]

Verdict = Literal["pass", "fail", "uncertain"]

#: Fewest good scores a threshold is set from. With fewer, the (1 − FRR) quantile is a guess.
MIN_GOOD = 10


class NotEnoughGoodImages(ValueError):
    """Too few good images to set a threshold."""


@dataclass
class Thresholds:
    """``score >= fail`` → fail; ``review <= score < fail`` → uncertain; below → pass."""

    fail: float
    review: float
    false_reject_rate: float
    n_good: int
    n_defect: int = 0

    @classmethod
    def fit(
        cls,
        good: Sequence[float] | np.ndarray,
        false_reject_rate: float,
        defects: Sequence[float] | np.ndarray = (),
        review_budget: float = 5.0,
    ) -> Thresholds:
        """Thresholds from good scores (required) and defect scores (optional)."""
        g = np.asarray(good, dtype=np.float64)
        g = g[np.isfinite(g)]
        if g.size < MIN_GOOD:
            raise NotEnoughGoodImages(
                f"too few good images to set a threshold: {g.size} scored, at least {MIN_GOOD} "
                "needed (give more good images, or fewer held out)"
            )
        if not 0 < false_reject_rate < 0.5:
            raise ValueError(f"false_reject_rate must be in (0, 0.5), got {false_reject_rate}")
        # 'higher' quantile: the threshold is an observed good score; ties fail conservatively
        fail = float(np.quantile(g, 1.0 - false_reject_rate, method="higher"))
        spread = float(np.quantile(g, 0.9) - np.quantile(g, 0.5))
        fail += 1e-6 + 0.05 * max(spread, 0.0)  # the highest good score itself passes
        floor_q = max(0.0, 1.0 - review_budget * false_reject_rate)
        floor = float(np.quantile(g, floor_q))
        review = float(np.quantile(g, max(0.0, 1.0 - 2.0 * false_reject_rate)))
        d = np.asarray(defects, dtype=np.float64)
        d = d[np.isfinite(d)]
        if d.size:
            # defects known to score low: review down to them (never below the budget floor)
            review = min(review, float(np.quantile(d, 0.1)))
        review = float(min(max(review, floor), fail))
        return cls(fail, review, false_reject_rate, int(g.size), int(d.size))

    def verdict(self, score: float) -> Verdict:
        if not np.isfinite(score) or score >= self.fail:
            return "fail"
        return "uncertain" if score >= self.review else "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "fail": self.fail,
            "review": self.review,
            "false_reject_rate": self.false_reject_rate,
            "n_good": self.n_good,
            "n_defect": self.n_defect,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Thresholds:
        return cls(
            float(d["fail"]),
            float(d["review"]),
            float(d["false_reject_rate"]),
            int(d["n_good"]),
            int(d.get("n_defect", 0)),
        )
