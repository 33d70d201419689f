"""``RobustSignalDetector``: the edge node's first streaming detector, per signal, four
mechanisms, no labels, one configuration for every signal.

Mechanisms (each gives a deviation statistic mapped to a score, 0.5 at its alarm point):

* **range**: the value leaves the signal's learned normal range. The range is the exact
  min/max seen during warm-up, then follows normal data slowly (it widens by a small step when
  a value lands just outside, and forgets with a stochastic-approximation quantile rule,
  Robbins–Monro), and is frozen while the signal is alarming, so a fault is not learned as
  normal. Multi-modal behaviour (stops, load levels, daily cycles) is inside the range once
  seen, which is why a mode change is not a fault; a slow creep that is faster than the
  range's own drift is.
* **volatility**: the short-term mean of squared first differences against its long-term level.
  Each squared difference is capped at 16× the long-term level first, so a start-up ramp (a few
  large steps) does not look like sustained oscillation (e.g. cavitation) while a real
  oscillation does.
* **spike**: a jump up followed at once by a jump down (or the reverse), both larger than
  ``spike_sigmas`` noise steps: reported one sample after the spike.
* **stuck**: a run of exactly repeated values whose probability under the signal's own repeat
  rate is tiny; values at which the signal rests normally (e.g. 0.0 flow while stopped) are
  learned and excused.

Known limits: a fault that stays inside the learned range, changes no step statistics and
does not freeze the value (e.g. a slow sensor drift within the normal range) is not seen here;
relationships between signals are the multivariate detector's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from plantmind.core.types import SampleBatch
from plantmind.detect.base import Detector, Scores, append_state

__all__ = ["RobustConfig", "RobustSignalDetector"]

NONE, ABOVE, BELOW, VOLATILITY, SPIKE, STUCK = range(6)


@dataclass(frozen=True)
class RobustConfig:
    """One configuration for all signals. Lengths are in samples of the signal."""

    warmup: int = 1800
    range_margin: float = 0.25  # alarm point: this fraction of the range width beyond it
    range_widen: float = 0.002  # step toward a normal value just outside the range
    range_forget: float = 5e-4  # quantile-rule step (fraction of width) that lets a range shrink
    range_quantile: float = 0.995
    noise_window: int = 1000  # long-term level of squared steps
    volatility_window: int = 30
    volatility_ratio: float = 6.0  # alarm point of short/long-term squared-step ratio
    volatility_cap: float = 16.0
    spike_sigmas: float = 10.0
    stuck_nats: float = 25.0  # -log-probability of the repeated run at the alarm point
    repeat_window: int = 2000


_STATE_FIELDS = (
    "count",
    "last_x",
    "last_d",
    "q_lo",
    "q_hi",
    "v_long",
    "v_short",
    "run_len",
    "p_repeat",
    "rest_value",
    "sensitivity",
    "floor",
)


@njit(cache=True, nogil=True)
def _z_to_score(z: float) -> float:
    return z * z / (z * z + 36.0)


@njit(cache=True, nogil=True)
def _score_kernel(
    sig, val, out_score, out_chan, out_dev,
    count, last_x, last_d, q_lo, q_hi, v_long, v_short, run_len, p_repeat, rest_value,
    sensitivity, floor,
    warmup, margin, widen, forget, quant, a_long, a_short, ratio_alarm, cap, spike_k,
    stuck_nats, a_rep,
):  # fmt: skip
    ln_ratio = np.log(ratio_alarm)
    for i in range(sig.shape[0]):
        s = sig[i]
        x = val[i]
        out_score[i] = 0.0
        out_chan[i] = 0
        out_dev[i] = 0.0
        if not np.isfinite(x):
            continue  # missing value: nothing learned, no score; the run/step history is kept
        n = count[s]
        if n == 0:
            count[s] = 1
            last_x[s] = x
            last_d[s] = 0.0
            q_lo[s] = x
            q_hi[s] = x
            continue
        d = x - last_x[s]
        fl = floor[s]
        vl = max(v_long[s], fl * fl)
        width = max(q_hi[s] - q_lo[s], 6.0 * np.sqrt(vl * 0.5), fl)
        # stuck run bookkeeping (before scoring, on the raw equality)
        repeated = d == 0.0
        if repeated:
            run_len[s] += 1
        warm = n >= warmup
        z = 0.0
        chan = 0
        dev = 0.0
        if warm:
            sens = sensitivity[s]
            # range
            if x > q_hi[s]:
                e = (x - q_hi[s]) / width
                zz = 6.0 * e / margin
                if zz > z:
                    z, chan, dev = zz, 1, e
            elif x < q_lo[s]:
                e = (q_lo[s] - x) / width
                zz = 6.0 * e / margin
                if zz > z:
                    z, chan, dev = zz, 2, e
            # volatility (short-term level updated first: it is the statistic at time t)
            vs = v_short[s] + a_short * (min(d * d, cap * vl) - v_short[s])
            r = vs / vl
            if r > 1.0:
                zz = 6.0 * np.log(r) / ln_ratio
                if zz > z:
                    z, chan, dev = zz, 3, r
            # spike at t-1: a step one way then a step back
            pd = last_d[s]
            if pd * d < 0.0:
                sz = min(abs(pd), abs(d)) / np.sqrt(vl)
                zz = 6.0 * sz / spike_k
                if zz > z:
                    z, chan, dev = zz, 4, sz
            # stuck
            if repeated and run_len[s] >= 3 and x != rest_value[s]:
                nats = run_len[s] * -np.log(max(p_repeat[s], 1e-3))
                zz = 6.0 * nats / stuck_nats
                if zz > z:
                    z, chan, dev = zz, 5, run_len[s]
            z = z / sens
        score = _z_to_score(z)
        out_score[i] = score
        out_chan[i] = chan
        out_dev[i] = dev
        alarming = score >= 0.5
        # --- learning (frozen while alarming, so faults are not learned as normal) -------------
        v_short[s] = v_short[s] + a_short * (min(d * d, cap * vl) - v_short[s])
        if not alarming:
            if not warm:
                # running mean of squared steps, then the exponential form
                v_long[s] = v_long[s] + (d * d - v_long[s]) / n
                if x > q_hi[s]:
                    q_hi[s] = x
                if x < q_lo[s]:
                    q_lo[s] = x
            else:
                v_long[s] = v_long[s] + a_long * (min(d * d, 25.0 * vl) - v_long[s])
                step = forget * width
                if x > q_hi[s]:
                    q_hi[s] += widen * (x - q_hi[s]) + step * quant
                else:
                    q_hi[s] -= step * (1.0 - quant)
                if x < q_lo[s]:
                    q_lo[s] -= widen * (q_lo[s] - x) + step * quant
                else:
                    q_lo[s] += step * (1.0 - quant)
                if q_lo[s] > q_hi[s]:
                    mid = 0.5 * (q_lo[s] + q_hi[s])
                    q_lo[s] = mid
                    q_hi[s] = mid
            excused = x == rest_value[s]
            if not excused:
                p_repeat[s] += a_rep * ((1.0 if repeated else 0.0) - p_repeat[s])
        if not repeated:
            # a run that ended without alarming marks a value the signal rests at
            if run_len[s] >= 3 and not alarming:
                rest_value[s] = last_x[s]
            run_len[s] = 0
        last_d[s] = d
        last_x[s] = x
        count[s] = n + 1


class RobustSignalDetector(Detector):
    """Per-signal robust detector (range, volatility, spike, stuck); see the module docstring.

    Parameters
    ----------
    n_signals:
        Number of signals (indices ``0 .. n_signals-1``).
    expected_span:
        Optional width of each signal's expected range from plant.yaml; it only sets a floor on
        the noise scale (1e-4 of the span) so a perfectly quiet signal does not divide by zero.
    config:
        Shared configuration; the defaults are the product's.

    Examples
    --------
    >>> import numpy as np
    >>> from plantmind.core.types import SampleBatch
    >>> rng = np.random.default_rng(0)
    >>> det = RobustSignalDetector(1, config=RobustConfig(warmup=200))
    >>> x = 10 + rng.normal(0, 0.1, 400)
    >>> x[300] = 25.0                                     # a spike
    >>> out = det.score_batch(SampleBatch(np.zeros(400), np.arange(400.0), x))
    >>> bool(out.score[301] >= 0.5), det.CHANNELS[out.channel[301]]
    (True, 'spike')
    >>> bool(out.score[250] < 0.5)
    True
    """

    CHANNELS = ("none", "above range", "below range", "volatility", "spike", "stuck")
    CONFIRMED_CHANNELS = (SPIKE,)
    SENSOR_CHANNELS = (SPIKE, STUCK)

    def __init__(
        self,
        n_signals: int,
        *,
        expected_span: np.ndarray | None = None,
        config: RobustConfig | None = None,
    ) -> None:
        self.config = config or RobustConfig()
        self._state: dict[str, np.ndarray] = {}
        self._n = 0
        self._span = np.empty(0)
        self.resize(n_signals, expected_span=expected_span)

    @property
    def n_signals(self) -> int:
        return self._n

    def resize(self, n_signals: int, *, expected_span: np.ndarray | None = None) -> None:
        if n_signals < self._n:
            raise ValueError(f"cannot shrink a detector from {self._n} to {n_signals} signals")
        add = n_signals - self._n
        fresh = {
            "count": np.zeros(add, np.int64),
            "last_x": np.full(add, np.nan),
            "last_d": np.zeros(add),
            "q_lo": np.zeros(add),
            "q_hi": np.zeros(add),
            "v_long": np.zeros(add),
            "v_short": np.zeros(add),
            "run_len": np.zeros(add, np.int64),
            "p_repeat": np.zeros(add),
            "rest_value": np.full(add, np.nan),
            "sensitivity": np.ones(add),
            "floor": np.full(add, 1e-9),
        }
        if expected_span is not None:
            span = np.asarray(expected_span, dtype=np.float64)
            if span.shape != (n_signals,):
                raise ValueError(f"expected_span must have shape ({n_signals},), got {span.shape}")
            fresh["floor"] = np.maximum(1e-4 * span[self._n :], 1e-9)
        append_state(self._state, fresh, _STATE_FIELDS)
        self._n = n_signals

    def score_batch(self, batch: SampleBatch) -> Scores:
        out = Scores.allocate(batch, self._n)
        score, chan, dev = out.score, out.channel, out.deviation
        c = self.config
        st = self._state
        _score_kernel(
            batch.signal, batch.value, score, chan, dev,
            st["count"], st["last_x"], st["last_d"], st["q_lo"], st["q_hi"], st["v_long"],
            st["v_short"], st["run_len"], st["p_repeat"], st["rest_value"], st["sensitivity"],
            st["floor"],
            c.warmup, c.range_margin, c.range_widen, c.range_forget, c.range_quantile,
            1.0 / c.noise_window, 1.0 / c.volatility_window, c.volatility_ratio,
            c.volatility_cap, c.spike_sigmas, c.stuck_nats, 1.0 / c.repeat_window,
        )  # fmt: skip
        return out

    @property
    def warmup(self) -> int:
        return self.config.warmup

    def normal_range(self, signal: int) -> tuple[float, float] | None:
        """The learned normal range of a signal, or None while it is warming up."""
        if self._state["count"][signal] < self.config.warmup:
            return None
        return float(self._state["q_lo"][signal]), float(self._state["q_hi"][signal])

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
        """E.g. "P-101.vibration_rms = 3.7 mm/s, 1.1 mm/s above its normal maximum 2.6 mm/s
        (learned normal range 0.8–2.6 mm/s)": the value, the limit it passed and by how much,
        in the signal's own unit."""
        if channel in (ABOVE, BELOW):
            rng = self.normal_range(signal)
            where = "above" if channel == ABOVE else "below"
            if rng is None:
                return f"{reading}, {where} its learned normal range"
            lo, hi = rng
            limit, bound = (hi, "maximum") if channel == ABOVE else (lo, "minimum")
            excess = value - hi if channel == ABOVE else lo - value
            if not np.isfinite(excess) or excess < 0:  # no reading given: from the statistic
                excess = abs(deviation) * (hi - lo)
            u = f" {unit}" if unit else ""
            return (
                f"{reading}, {excess:.3g}{u} {where} its normal {bound} {limit:.4g}{u} "
                f"(learned normal range {lo:.4g}–{hi:.4g}{u})"
            )
        if channel == VOLATILITY:
            return f"{reading}, fluctuating {deviation:.3g}× more than usual (step variance)"
        if channel == SPIKE:
            return f"{signal_id}: isolated spike of {deviation:.3g} noise steps"
        if channel == STUCK:
            return f"{reading}, unchanged for {int(deviation)} samples (stuck sensor?)"
        return reading

    def feedback(self, signal: int, kind: str, score: float) -> None:
        """A false alarm makes the signal less sensitive (its alarm point moves past the score
        the alert reached); a missed event makes it more sensitive. Bounded to [0.5, 4]."""
        sens = self._state["sensitivity"]
        if kind == "false_alarm":
            # z at the reported score, plus 10 %: the same deviation no longer alarms
            s = min(max(score, 0.5), 0.999)
            z_seen = 6.0 * np.sqrt(s / (1.0 - s)) * sens[signal]
            sens[signal] = float(np.clip(max(sens[signal] * 1.25, 1.1 * z_seen / 6.0), 0.5, 4.0))
        elif kind == "missed":
            sens[signal] = float(np.clip(sens[signal] / 1.25, 0.5, 4.0))
        else:
            raise ValueError(f"unknown feedback kind {kind!r}: use 'false_alarm' or 'missed'")

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self._state.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        missing = set(_STATE_FIELDS) - set(state)
        if missing:
            raise ValueError(f"detector state lacks {sorted(missing)}")
        n = len(state["count"])
        for name in _STATE_FIELDS:
            if len(state[name]) != n:
                raise ValueError(f"detector state field {name!r} has the wrong length")
        self._state = {k: np.array(state[k], copy=True) for k in _STATE_FIELDS}
        self._n = n
