"""``StreamingRankDetector``: a per-signal, rank-calibrated surprise detector with event
(onset) reporting, fed columnar batches, one configuration for every signal.

Method
------
Two statistics are computed for each sample *before* the sample is learned (so the score at
t depends only on data up to t):

* **step**: ``|x_t − x_{t−1}|`` in units of the signal's typical step (an exponentially
  weighted mean absolute step, memory ``scale_window``). It reacts to spikes, level shifts,
  bursts and variance increases at the sample where they start.
* **level novelty**: the value is quantised into ``levels`` cells of the signal's running
  range (expands at once, contracts very slowly), plus one cell below and one above; the
  statistic is the inverse of the cell's exponentially decayed occupancy (memory
  ``novelty_memory``). It reacts to values the signal rarely or never visits (a new operating
  level, a slow excursion, a stuck-at value in an unusual place), which the step statistic
  misses when the change is gradual. This is the value-only, bounded-memory core of the
  "contextual" novelty used by CAD OSE and of HTM's "never seen this input" signal.
* **stuck**: the length of the current run of exactly repeated values, ranked as if
  ``stuck_margin`` times shorter (signals with quantised values repeat often; a frozen
  sensor repeats far longer than it ever has).

Each of the three statistics is turned into a **tail probability** by ranking it against its own recent
history: a decayed histogram of ``ln(statistic)`` (48 bins, memory ``rank_memory``) gives
``p = (n_ge + 1)/(n + 1)`` — the conformal p-value of Vovk et al. with exponential forgetting
— and beyond the largest value seen the tail is extended exponentially in ``ln(statistic)``
so that bigger surprises still rank higher. The smallest p-value is doubled (Bonferroni over
the step and novelty channels; the stuck channel is already made conservative by its margin). The score is
``−ln p / (−ln p + ln(1/alarm_p))``, so 0.5 is exactly ``p = alarm_p``; feedback rescales
``−ln p`` per signal.

**Event reporting** (refractory period): a score is emitted only while it exceeds a decaying
maximum of the signal's recent scores (time constant ``refractory`` samples); otherwise the
output is 0. A persistent fault therefore raises one alert at its onset and again only if it
gets worse, whatever threshold a consumer applies — this is what NAB rewards and what an
operator wants, and it is threshold-free (it does not depend on the alarm point).

Because everything is a rank of the signal against its own past, the detector is
self-calibrating: no per-signal scale, unit or threshold is configured. All state is a fixed
set of arrays indexed by signal id (about 1 KiB per signal), so memory is bounded and
many signals interleaved in one batch are scored by one numba kernel in arrival order.

References: A. Lavin, S. Ahmad, "Evaluating real-time anomaly detection algorithms — the
Numenta Anomaly Benchmark", ICMLA 2015; S. Ahmad et al., "Unsupervised real-time anomaly
detection for streaming data", Neurocomputing 262 (2017) (anomaly likelihood: scores judged
against the distribution of the signal's own recent scores); M. Smirnov, "CAD OSE"
(contextual anomaly detector, NAB); V. Vovk, A. Gammerman, G. Shafer, "Algorithmic Learning
in a Random World" (2005) (conformal p-values); the decayed-histogram quantile idea follows
stochastic-approximation quantile tracking as in ``plantmind.detect.robust``.

Known limits
------------
* Measured on NAB v1.1 (one configuration, no labels): 52.7 standard / 40.6 low-FP /
  62.1 low-FN with NAB's optimised threshold, 49.4 / 38.1 / 54.8 at its own alarm point
  (score 0.5) — below HTM (70.1) and ARTime (74.9), which also use each file's min/max
  (not causal). See ``plantmind.bench.nab``.
* A smooth ramp whose steps stay typical is not reported while the range grows with it
  (the "above range" cell was occupied during warm-up); a variance *decrease* short of a
  frozen value is not reported.
* No seasonality model: a value or step that is normal at 3 pm but abnormal at 3 am is not
  seen unless it is rare overall (a daily cycle is learned only as a range of levels).
* Timestamps are not used; statistics are per sample, so very irregular sampling changes
  the step statistic's meaning.
* Slow drifts are caught only once they reach rarely visited levels; a change in the
  *shape* of a pattern that keeps values and steps typical is not seen.
* After an alert, the same fault at the same size is not reported again for about
  ``refractory`` samples (event reporting, by design).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from plantmind.core.types import SampleBatch
from plantmind.detect.base import Detector, Scores

__all__ = ["StreamingConfig", "StreamingRankDetector"]

NONE, STEP, NOVELTY, STUCK = range(4)
_NSTAT = 3  # step, level novelty, stuck run
_NBINS = 48  # bins of ln(statistic), from _LO in steps of _BW (ln 0.05 … ln 8100)
_LO = -3.0
_BW = 0.25
_SEED = 8  # samples that seed the step scale and range before ranks are learned
_RESCALE = 1e150  # lazily decayed weights are renormalised when they grow past this


@dataclass(frozen=True)
class StreamingConfig:
    """One configuration for all signals. Lengths are in samples of the signal.

    Every constant is a memory length or a probability, none is in the signal's unit.
    """

    warmup: int = 100  # samples learned before the first score (NAB's probation is 15 %)
    scale_window: int = 1000  # memory of the typical step
    rank_memory: int = 1000  # memory of each statistic's rank histogram
    novelty_memory: int = 4000  # memory of level occupancy
    levels: int = 8  # cells of the running range for level novelty
    range_forget: float = 3e-5  # per-sample contraction of the range (fraction of its width)
    refractory: int = 1000  # time constant of the event-reporting decaying maximum
    tail_slope: float = 2.0  # beyond the largest value seen, p falls as statistic^-slope
    alarm_p: float = 1.0 / 300.0  # combined tail probability at which the score is 0.5
    stuck_margin: float = 4.0  # a repeat run is ranked as if this many times shorter


_STATE_FIELDS = (
    "count",
    "last_x",
    "dmad",
    "lo",
    "hi",
    "peak",
    "hist",
    "hist_w",
    "hist_tot",
    "occ",
    "occ_w",
    "occ_tot",
    "run",
    "sensitivity",
)


@njit(cache=True, nogil=True, inline="always")
def _tail_p(hist, s, k, w, tot, lz, slope):
    """Conformal p-value of ``lz`` under row (s, k) of the lazily weighted histogram."""
    b = (lz - _LO) / _BW
    if b < 0.0:
        return 1.0
    bi = int(b)
    if bi >= _NBINS:
        bi = _NBINS - 1
        frac = 1.0
    else:
        frac = b - bi
    c = hist[s, k, bi] * (1.0 - frac)
    for j in range(bi + 1, _NBINS):
        c += hist[s, k, j]
    if c > 0.0 or hist[s, k, bi] > 0.0:
        return (c / w + 1.0) / (tot / w + 1.0)
    top = -1
    for j in range(bi - 1, -1, -1):
        if hist[s, k, j] > 1e-3 * w:
            top = j
            break
    edge = _LO + (top + 1) * _BW
    return np.exp(-slope * max(lz - edge, 0.0)) / (tot / w + 1.0)


@njit(cache=True, nogil=True, inline="always")
def _hist_add(hist, s, k, hist_w, hist_tot, lz, grow):
    b = int((lz - _LO) / _BW)
    if b < 0:
        b = 0
    if b >= _NBINS:
        b = _NBINS - 1
    w = hist_w[s, k] * grow
    hist[s, k, b] += w
    hist_tot[s, k] += w
    if w > _RESCALE:
        for j in range(_NBINS):
            hist[s, k, j] /= w
        hist_tot[s, k] /= w
        w = 1.0
    hist_w[s, k] = w


@njit(cache=True, nogil=True)
def _score_kernel(
    sig, val, out_score, out_chan, out_dev,
    count, last_x, dmad, lo, hi, peak, hist, hist_w, hist_tot, occ, occ_w, occ_tot,
    run, sensitivity,
    warmup, a_scale, hist_grow, occ_grow, levels, forget, peak_decay, slope, ln_alarm,
    ln_run_margin,
):  # fmt: skip
    for i in range(sig.shape[0]):
        s = sig[i]
        x = val[i]
        out_score[i] = 0.0
        out_chan[i] = NONE
        out_dev[i] = 0.0
        if not np.isfinite(x):
            continue  # missing value: nothing learned, no score
        n = count[s]
        if n == 0:
            count[s] = 1
            last_x[s] = x
            lo[s] = x
            hi[s] = x
            continue
        eps = 1e-9 + 1e-6 * abs(x)
        d = abs(x - last_x[s])
        z_step = d / (dmad[s] + eps)
        width = hi[s] - lo[s]
        if width <= 0.0:
            width = eps
        q = int(np.floor((x - lo[s]) / width * levels))
        if q < -1:
            q = -1
        if q > levels:
            q = levels
        cell = q + 1
        w_occ = occ_w[s]
        rarity = (occ_tot[s] / w_occ + 1.0) / (occ[s, cell] / w_occ + 0.5)
        # rank both statistics against their own history, then learn them
        lz0 = np.log(z_step + 1e-12)
        lz1 = np.log(rarity)
        r = run[s] + 1 if d == 0.0 else 0
        run[s] = r
        lz2 = np.log(r) if r > 0 else -50.0
        p0 = _tail_p(hist, s, 0, hist_w[s, 0], hist_tot[s, 0], lz0, slope)
        p1 = _tail_p(hist, s, 1, hist_w[s, 1], hist_tot[s, 1], lz1, slope)
        p2 = _tail_p(hist, s, 2, hist_w[s, 2], hist_tot[s, 2], lz2 - ln_run_margin, slope)
        if n >= _SEED:  # the first samples only seed the step scale and the range
            _hist_add(hist, s, 0, hist_w, hist_tot, lz0, hist_grow)
            _hist_add(hist, s, 1, hist_w, hist_tot, lz1, hist_grow)
            _hist_add(hist, s, 2, hist_w, hist_tot, lz2, hist_grow)
        if n > warmup:
            p, chan, dev = p0, STEP, z_step
            if p1 < p:
                p, chan, dev = p1, NOVELTY, rarity
            if p2 < p:
                p, chan, dev = p2, STUCK, float(r)
            p = min(1.0, 2.0 * p)
            nl = -np.log(p) / sensitivity[s]
            sc = nl / (nl + ln_alarm)
            pk = peak[s]
            if sc > pk:
                out_score[i] = sc
                out_chan[i] = chan
                out_dev[i] = dev
            peak[s] = max(pk * peak_decay, sc)
        # --- learning --------------------------------------------------------------------
        w = w_occ * occ_grow
        occ[s, cell] += w
        occ_tot[s] += w
        if w > _RESCALE:
            for j in range(occ.shape[1]):
                occ[s, j] /= w
            occ_tot[s] /= w
            w = 1.0
        occ_w[s] = w
        a = max(a_scale, 1.0 / (n + 1))
        dmad[s] += a * (d - dmad[s])
        if x > hi[s]:
            hi[s] = x
        elif x < lo[s]:
            lo[s] = x
        shrink = forget * (hi[s] - lo[s])
        hi[s] -= shrink
        lo[s] += shrink
        last_x[s] = x
        count[s] = n + 1


class StreamingRankDetector(Detector):
    """Rank-calibrated step and level-novelty detector with event reporting; see the module
    docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from plantmind.core.types import SampleBatch
    >>> rng = np.random.default_rng(0)
    >>> x = 10 + rng.normal(0, 0.1, 1500)
    >>> x[1200] = 14.0                                    # a spike
    >>> det = StreamingRankDetector(1)
    >>> out = det.score_batch(SampleBatch(np.zeros(1500), np.arange(1500.0), x))
    >>> bool(out.score[1200] >= 0.5), det.CHANNELS[out.channel[1200]]
    (True, 'step')
    """

    CHANNELS = ("none", "step", "level novelty", "stuck")

    def __init__(self, n_signals: int, *, config: StreamingConfig | None = None) -> None:
        self.config = config or StreamingConfig()
        c = self.config
        if c.levels < 1 or c.warmup < 1 or min(c.scale_window, c.rank_memory) < 1:
            raise ValueError("levels, warmup, scale_window and rank_memory must be >= 1")
        if not 0.0 < c.alarm_p < 1.0:
            raise ValueError("alarm_p must be in (0, 1)")
        self._state: dict[str, np.ndarray] = {}
        self._n = 0
        self.resize(n_signals)

    @property
    def n_signals(self) -> int:
        return self._n

    def resize(self, n_signals: int) -> None:
        if n_signals < self._n:
            raise ValueError(f"cannot shrink a detector from {self._n} to {n_signals} signals")
        add = n_signals - self._n
        cells = self.config.levels + 2
        fresh = {
            "count": np.zeros(add, np.int64),
            "last_x": np.full(add, np.nan),
            "dmad": np.zeros(add),
            "lo": np.zeros(add),
            "hi": np.zeros(add),
            "peak": np.zeros(add),
            "hist": np.zeros((add, _NSTAT, _NBINS)),
            "hist_w": np.ones((add, _NSTAT)),
            "hist_tot": np.zeros((add, _NSTAT)),
            "occ": np.zeros((add, cells)),
            "occ_w": np.ones(add),
            "occ_tot": np.zeros(add),
            "run": np.zeros(add, np.int64),
            "sensitivity": np.ones(add),
        }
        for name in _STATE_FIELDS:
            old = self._state.get(name)
            self._state[name] = fresh[name] if old is None else np.concatenate([old, fresh[name]])
        self._n = n_signals

    def score_batch(self, batch: SampleBatch) -> Scores:
        n = len(batch)
        if n and (batch.signal.min() < 0 or batch.signal.max() >= self._n):
            raise IndexError(f"signal index out of range 0..{self._n - 1}")
        score = np.empty(n)
        chan = np.empty(n, np.int8)
        dev = np.empty(n)
        c = self.config
        st = self._state
        _score_kernel(
            batch.signal, batch.value, score, chan, dev,
            st["count"], st["last_x"], st["dmad"], st["lo"], st["hi"], st["peak"],
            st["hist"], st["hist_w"], st["hist_tot"], st["occ"], st["occ_w"], st["occ_tot"],
            st["run"], st["sensitivity"],
            c.warmup, 1.0 / c.scale_window, 1.0 / (1.0 - 1.0 / c.rank_memory),
            1.0 / (1.0 - 1.0 / c.novelty_memory), c.levels, c.range_forget,
            float(np.exp(-1.0 / c.refractory)), c.tail_slope, float(-np.log(c.alarm_p)),
            float(np.log(c.stuck_margin)),
        )  # fmt: skip
        return Scores(score, chan, dev)

    def feedback(self, signal: int, kind: str, score: float) -> None:
        """A false alarm makes the signal less sensitive: its tail-probability scale moves so
        that the reported score falls below the alarm point (at least ×1.25); a missed event
        makes it more sensitive (÷1.25). Bounded to [0.25, 8]."""
        sens = self._state["sensitivity"]
        if kind == "false_alarm":
            s = min(max(float(score), 0.5), 0.999)
            nl_seen = s / (1.0 - s) * sens[signal]  # −ln p / ln(1/alarm_p) at that score
            sens[signal] = float(np.clip(max(sens[signal] * 1.25, 1.1 * nl_seen), 0.25, 8.0))
        elif kind == "missed":
            sens[signal] = float(np.clip(sens[signal] / 1.25, 0.25, 8.0))
        else:
            raise ValueError(f"unknown feedback kind {kind!r}: use 'false_alarm' or 'missed'")

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self._state.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        missing = set(_STATE_FIELDS) - set(state)
        if missing:
            raise ValueError(f"detector state lacks {sorted(missing)}")
        n = len(state["count"])
        cells = self.config.levels + 2
        shapes = {
            "hist": (n, _NSTAT, _NBINS),
            "hist_w": (n, _NSTAT),
            "hist_tot": (n, _NSTAT),
            "occ": (n, cells),
        }
        for name in _STATE_FIELDS:
            want = shapes.get(name, (n,))
            if np.shape(state[name]) != want:
                raise ValueError(f"detector state field {name!r} has shape {np.shape(state[name])}")
        self._state = {k: np.array(state[k], copy=True) for k in _STATE_FIELDS}
        self._n = n
