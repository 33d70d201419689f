"""NAB scoring and corpus loading, on small synthetic series made here (never NAB's data).

Closed forms used below: NAB's scaled sigmoid is ``σ(x) = 2/(1 + e^{5x}) − 1 = −tanh(5x/2)``,
so a detection on row ``i`` of window ``[l, r]`` (width ``W``) is worth
``A_TP · tanh(2.5·(r − i + 1)/W) / tanh(2.5)`` and a false positive ``d`` rows after a window
is worth ``−A_FP · tanh(2.5·d/(W − 1))`` (``−A_FP`` when ``d/(W − 1) > 3``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from plantmind.bench import nab_scoring as nab
from plantmind.bench.nab_data import NabDataError, load_corpus, load_profiles, load_windows

STD = nab.NAB_PROFILES["standard"]
LOW_FP = nab.NAB_PROFILES["reward_low_FP_rate"]
LOW_FN = nab.NAB_PROFILES["reward_low_FN_rate"]
T0 = np.datetime64("2020-01-01T00:00:00", "s")


def stamps(n: int) -> np.ndarray:
    return T0 + np.arange(n) * np.timedelta64(300, "s")


def one_file(
    n: int, windows: list[tuple[int, int]], probationary_percent: float = 0.0
) -> tuple[nab.LabelledCorpus, list[tuple[np.datetime64, np.datetime64]], np.ndarray]:
    ts = stamps(n)
    wins = [(ts[a], ts[b]) for a, b in windows]
    return nab.prepare_corpus({"f": wins}, {"f": ts}, probationary_percent), wins, ts


def score_rows(corpus: nab.LabelledCorpus, rows: list[int], cost: nab.CostMatrix) -> float:
    det = np.zeros(corpus.layouts["f"].n_rows, dtype=bool)
    det[rows] = True
    return nab.score_detections(corpus, {"f": det}, cost).score


def tp_value(i: int, lo: int, hi: int, cost: nab.CostMatrix = STD) -> float:
    return cost.tp * math.tanh(2.5 * (hi - i + 1) / (hi - lo + 1)) / math.tanh(2.5)


def fp_value(d: int, lo: int, hi: int, cost: nab.CostMatrix = STD) -> float:
    x = d / (hi - lo)
    return -cost.fp if x > 3 else -cost.fp * math.tanh(2.5 * x)


# ---------------------------------------------------------------- the rules, one at a time


def test_probationary_length_follows_nab() -> None:
    assert nab.probationary_length(4032) == 604  # floor(0.15 * 4032)
    assert nab.probationary_length(15833) == 750  # capped at 0.15 * 5000
    assert nab.probationary_length(10) == 1
    assert nab.probationary_length(0) == 0
    assert nab.probationary_length(1000, 0.0) == 0


def test_scaled_sigmoid_reference_points() -> None:
    s = nab.scaled_sigmoid([-1.0, -0.5, 0.0, 1.0, 3.0, 3.0001])
    assert s[0] == pytest.approx(0.98661, abs=1e-5)
    assert s[1] == pytest.approx(0.84828, abs=1e-5)
    assert s[2] == 0.0
    assert s[3] == pytest.approx(-0.98661, abs=1e-5)
    assert s[4] == pytest.approx(-math.tanh(7.5))
    assert s[5] == -1.0


def test_detection_early_in_window_beats_late_as_the_sigmoid_says() -> None:
    corpus, _, _ = one_file(1000, [(500, 509)])
    first = score_rows(corpus, [500], STD)
    middle = score_rows(corpus, [504], STD)
    last = score_rows(corpus, [509], STD)
    assert first == pytest.approx(STD.tp)  # the first row of a window is worth exactly A_TP
    assert middle == pytest.approx(tp_value(504, 500, 509))
    assert last == pytest.approx(tp_value(509, 500, 509))
    assert first > middle > last > 0


def test_only_the_first_detection_in_a_window_counts() -> None:
    corpus, _, _ = one_file(1000, [(500, 519)])
    alone = score_rows(corpus, [503], STD)
    assert score_rows(corpus, [503, 504, 510, 519], STD) == pytest.approx(alone)
    assert score_rows(corpus, [503, 500], STD) == pytest.approx(STD.tp)
    det = np.zeros(1000, dtype=bool)
    det[[503, 504, 510]] = True
    row = nab.score_detections(corpus, {"f": det}, STD).files["f"]
    assert (row.tp, row.fn, row.fp) == (3, 17, 0)  # counts are per row, the score per window


def test_missed_window_costs_a_fn_per_profile() -> None:
    corpus, _, _ = one_file(1000, [(100, 149), (600, 649)])
    assert score_rows(corpus, [], STD) == pytest.approx(-2.0)
    assert score_rows(corpus, [], LOW_FN) == pytest.approx(-4.0)
    assert score_rows(corpus, [100], LOW_FN) == pytest.approx(1.0 - 2.0)


def test_false_positive_weights() -> None:
    lo, hi = 400, 419
    corpus, _, _ = one_file(1000, [(lo, hi)])
    missed = -STD.fn
    # Before any window: -A_FP each.
    assert score_rows(corpus, [10, 20], STD) == pytest.approx(missed - 2 * STD.fp)
    assert score_rows(corpus, [10, 20], LOW_FP) == pytest.approx(missed - 2 * LOW_FP.fp)
    # After the window: weighted by the sigmoid of the distance relative to the window.
    for d in (1, 5, 19, 40, 57):
        expected = missed + fp_value(d, lo, hi)
        assert score_rows(corpus, [hi + d], STD) == pytest.approx(expected)
    assert fp_value(1, lo, hi) > fp_value(19, lo, hi) > fp_value(57, lo, hi)  # nearer hurts less
    # Further than three window-lengths: the full -A_FP.
    assert score_rows(corpus, [hi + 58], STD) == pytest.approx(missed - STD.fp)
    assert score_rows(corpus, [hi + 300], LOW_FP) == pytest.approx(missed - LOW_FP.fp)


def test_false_positive_is_scored_against_the_closest_preceding_window() -> None:
    corpus, _, _ = one_file(1000, [(100, 109), (300, 339)])
    # Row 350 follows the wide second window (d=11, W=40), not the first.
    assert score_rows(corpus, [350], STD) == pytest.approx(-2.0 + fp_value(11, 300, 339))
    # Row 200 sits between them and follows the first (d=91 > 3*9: full penalty).
    assert score_rows(corpus, [200], STD) == pytest.approx(-2.0 - STD.fp)


def test_probationary_rows_are_ignored() -> None:
    n = 1000  # 150 probationary rows
    corpus, _, _ = one_file(n, [(600, 649)], probationary_percent=0.15)
    assert corpus.layouts["f"].n_probationary == 150
    assert score_rows(corpus, [0, 100, 149], STD) == pytest.approx(-1.0)
    assert score_rows(corpus, [150], STD) == pytest.approx(-1.0 - STD.fp)
    # Probationary anomaly scores never become thresholds, and never count.
    scores = np.zeros(n)
    scores[120] = 0.99  # inside the probationary period
    scores[600] = 0.5
    curve = nab.threshold_curve(corpus, {"f": scores}, STD)
    assert 0.99 not in curve.thresholds
    assert nab.optimize_threshold(corpus, {"f": scores}, STD) == (0.5, pytest.approx(1.0))
    counts = nab.score_at_threshold(corpus, {"f": scores}, 0.5, STD).files["f"]
    assert counts.total == n - 150


def test_window_partly_in_probation_counts_and_window_wholly_in_it_does_not() -> None:
    corpus, _, _ = one_file(1000, [(20, 40), (140, 200), (600, 649)], probationary_percent=0.15)
    lay = corpus.layouts["f"]
    assert (lay.n_windows, lay.scorable_windows) == (3, 2)
    assert score_rows(corpus, [], STD) == pytest.approx(-2.0)
    assert score_rows(corpus, [145], STD) == pytest.approx(-2.0)  # probationary row: ignored
    assert score_rows(corpus, [150], STD) == pytest.approx(-1.0 + tp_value(150, 140, 200))


# ---------------------------------------------------------------- sweep and normalisation


def crafted_corpus() -> tuple[dict[str, tuple[np.ndarray, None]], dict, dict]:
    """Two files whose best threshold is 0.8 by construction."""
    results: dict[str, tuple[np.ndarray, None]] = {}
    windows: dict[str, list] = {}
    timestamps: dict[str, np.ndarray] = {}
    for name, (lo, hi) in {"a.csv": (300, 339), "b.csv": (500, 549)}.items():
        ts = stamps(800)
        s = np.full(800, 0.1)
        s[lo] = 0.8  # on-time detection in each window
        s[lo + 20 : hi + 1] = 0.85  # late, higher scores: only worth a little
        results[name] = (s, None)
        windows[name] = [(ts[lo], ts[hi])]
        timestamps[name] = ts
    results["a.csv"][0][200] = 0.9  # one false alarm before any window
    results["b.csv"][0][700:720] = 0.7  # a burst of false alarms after the window
    return results, windows, timestamps


def test_threshold_sweep_finds_the_known_best_threshold() -> None:
    results, windows, timestamps = crafted_corpus()
    corpus = nab.prepare_corpus(windows, timestamps, 0.0)
    scores = {f: r[0] for f, r in results.items()}
    curve = nab.threshold_curve(corpus, scores, STD)
    assert curve.thresholds.tolist() == [1.1, 0.9, 0.85, 0.8, 0.7, 0.1]
    late_a, late_b = tp_value(320, 300, 339), tp_value(520, 500, 549)
    fp_b = sum(fp_value(i - 549, 500, 549) for i in range(700, 720))
    everything = nab.score_detections(corpus, {f: np.ones(800, dtype=bool) for f in scores}, STD)
    expected = [
        -2.0,  # 1.1: nothing detected, two missed windows
        -2.0 - STD.fp,  # 0.9: one false alarm before any window
        late_a + late_b - STD.fp,  # 0.85: both windows caught late
        2.0 - STD.fp,  # 0.8: both windows caught on their first row
        2.0 - STD.fp + fp_b,  # 0.7: plus the burst after window b
        everything.score,  # 0.1: every row
    ]
    np.testing.assert_allclose(curve.scores, expected, rtol=0, atol=1e-9)
    threshold, raw = nab.optimize_threshold(corpus, scores, STD)
    assert threshold == 0.8
    assert raw == pytest.approx(2.0 - STD.fp)
    assert nab.score_at_threshold(corpus, scores, threshold, STD).score == pytest.approx(raw)
    row = int(np.flatnonzero(curve.thresholds == 0.8)[0])
    assert (curve.tp[row], curve.fp[row]) == (2 + 20 + 30, 1)


def test_ties_go_to_the_highest_threshold() -> None:
    corpus, _, _ = one_file(100, [(40, 49)])
    scores = np.zeros(100)
    scores[40] = 0.9
    scores[45] = 0.6  # a later row of the same window: no change in score
    assert nab.optimize_threshold(corpus, {"f": scores}, STD) == (0.9, pytest.approx(1.0))


def test_null_and_perfect_detectors_normalise_to_0_and_100() -> None:
    rng = np.random.default_rng(3)
    windows, timestamps, null, perfect, noisy = {}, {}, {}, {}, {}
    for k in range(4):
        n = 600 + 100 * k
        ts = stamps(n)
        starts = [200 + 150 * j for j in range(k % 3 + 1)]
        windows[f"f{k}"] = [(ts[s], ts[s + 40]) for s in starts]
        timestamps[f"f{k}"] = ts
        zeros = np.zeros(n)
        null[f"f{k}"] = (zeros, zeros)
        hit = np.zeros(n)
        hit[starts] = 1.0
        perfect[f"f{k}"] = (hit, hit)
        noisy[f"f{k}"] = (rng.random(n), None)
    n_windows = sum(len(w) for w in windows.values())
    for res, want in ((null, 0.0), (perfect, 100.0)):
        out = nab.normalized_scores(res, windows, timestamps)
        assert set(out) == set(nab.NAB_PROFILES)
        for prof, r in out.items():
            cost = nab.NAB_PROFILES[prof]
            assert r.null == -cost.fn * n_windows
            assert r.perfect == cost.tp * n_windows
            assert r.optimized == pytest.approx(want, abs=1e-9)
            assert r.fixed == pytest.approx(want, abs=1e-9)
    out = nab.normalized_scores(noisy, windows, timestamps)
    assert all(r.fixed is None for r in out.values())
    # The optimiser can always fall back to detecting nothing, so never below the null score.
    assert all(r.optimized >= -1e-9 for r in out.values())


def test_fixed_alarms_equal_thresholding_the_alarm_column() -> None:
    results, windows, timestamps = crafted_corpus()
    alarms = {f: (r[0], r[0] >= 0.8) for f, r in results.items()}
    fixed = nab.score_corpus(alarms, windows, timestamps, "standard", probationary_percent=0.0)
    thresholded = nab.score_corpus(
        alarms, windows, timestamps, "standard", threshold=0.8, probationary_percent=0.0
    )
    assert fixed.threshold is None and thresholded.threshold == 0.8
    assert fixed.score == pytest.approx(thresholded.score)
    assert fixed.score == pytest.approx(2.0 - STD.fp)
    with pytest.raises(ValueError, match="no alarm column"):
        nab.score_corpus(results, windows, timestamps, "standard")


# ---------------------------------------------------------------- fast == slow, on random data


def _sig(x: float) -> float:
    return -1.0 if x > 3.0 else 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def slow_file_score(
    n: int,
    wins: list[tuple[int, int]],
    scores: np.ndarray,
    threshold: float,
    cost: nab.CostMatrix,
    n_prob: int,
) -> float:
    """The rules written out row by row, independent of the vectorised code."""
    total = 0.0
    for lo, hi in wins:
        if hi < n_prob:
            continue
        hits = [i for i in range(max(lo, n_prob), hi + 1) if scores[i] >= threshold]
        if hits:
            total += _sig(-(hi - hits[0] + 1) / (hi - lo + 1)) * cost.tp / _sig(-1.0)
        else:
            total -= cost.fn
    for i in range(n_prob, n):
        if scores[i] < threshold or any(lo <= i <= hi for lo, hi in wins):
            continue
        before = [(lo, hi) for lo, hi in wins if hi < i]
        if not before:
            total -= cost.fp
        else:
            lo, hi = before[-1]
            total += _sig((i - hi) / (hi - lo)) * cost.fp
    return total


def random_case(seed: int) -> tuple[dict, dict, dict, dict[str, list[tuple[int, int]]]]:
    rng = np.random.default_rng(seed)
    windows, timestamps, scores, rows = {}, {}, {}, {}
    for k in range(int(rng.integers(1, 4))):
        n = int(rng.integers(60, 120 if seed % 3 == 0 else 300))
        epoch = k % 2 == 0  # exercise both epoch-second and datetime64 timestamps
        ts = 1.6e9 + 60.0 * np.arange(n) if epoch else stamps(n)
        wins: list[tuple[int, int]] = []
        pos = int(rng.integers(0, 40))
        while pos < n - 3 and len(wins) < 4:
            lo = pos
            hi = min(n - 1, lo + int(rng.integers(2, 40)))
            wins.append((lo, hi))
            pos = hi + int(rng.integers(1, 120))
        raw = rng.random(n)
        if seed % 3:
            raw = np.round(raw, seed % 3)  # ties: one or two decimals
        scores[f"f{k}"] = raw
        windows[f"f{k}"] = [(ts[a], ts[b]) for a, b in wins]
        timestamps[f"f{k}"] = ts
        rows[f"f{k}"] = wins
    return windows, timestamps, scores, rows


@pytest.mark.parametrize("seed", range(12))
def test_fast_scorer_equals_slow_reference(seed: int) -> None:
    windows, timestamps, scores, rows = random_case(seed)
    pp = [0.0, 0.15, 0.3][seed % 3]
    corpus = nab.prepare_corpus(windows, timestamps, pp)
    for cost in nab.NAB_PROFILES.values():
        curve = nab.threshold_curve(corpus, scores, cost)
        best_t, best_s = nab.NO_DETECTION_THRESHOLD, -math.inf
        candidates = sorted(
            {1.1}
            | {
                float(v)
                for f in scores
                for v in scores[f][corpus.layouts[f].n_probationary :].tolist()
            },
            reverse=True,
        )
        assert curve.thresholds.tolist() == candidates
        for j, t in enumerate(candidates):
            slow = sum(
                slow_file_score(
                    len(scores[f]), rows[f], scores[f], t, cost, corpus.layouts[f].n_probationary
                )
                for f in scores
            )
            assert curve.scores[j] == pytest.approx(slow, abs=1e-9)
            fast = nab.score_at_threshold(corpus, scores, t, cost).score
            assert fast == pytest.approx(slow, abs=1e-9)
            if slow > best_s + 1e-12:
                best_t, best_s = t, slow
        threshold, raw = nab.optimize_threshold(corpus, scores, cost)
        assert threshold == best_t
        assert raw == pytest.approx(best_s, abs=1e-9)


# ---------------------------------------------------------------- input validation


def test_windows_must_match_timestamps_exactly() -> None:
    ts = stamps(100)
    with pytest.raises(ValueError, match="does not occur"):
        nab.prepare_file("f", ts, [(ts[10] + np.timedelta64(1, "s"), ts[20])])
    with pytest.raises(ValueError, match="overlap"):
        nab.prepare_file("f", ts, [(ts[10], ts[30]), (ts[20], ts[40])])
    with pytest.raises(ValueError, match="single row"):
        nab.prepare_file("f", ts, [(ts[10], ts[10])])
    lay = nab.prepare_file("f", ts, [("2020-01-01 00:50:00.000000", "2020-01-01 01:40:00")])
    assert lay.windows.tolist() == [[10, 20]]


def test_bad_inputs_are_refused() -> None:
    corpus, _, _ = one_file(100, [(40, 49)])
    with pytest.raises(ValueError, match="shape"):
        nab.threshold_curve(corpus, {"f": np.zeros(99)}, STD)
    with pytest.raises(ValueError, match="NaN"):
        nab.threshold_curve(corpus, {"f": np.full(100, np.nan)}, STD)
    with pytest.raises(KeyError, match="unknown NAB profile"):
        nab.optimize_threshold(corpus, {"f": np.zeros(100)}, "nope")


# ---------------------------------------------------------------- nab_data on a synthetic tree


def write_root(root: Path, windows: dict | None = None) -> Path:
    for cat, name, n in (("realFake", "a.csv", 300), ("artificialFake", "b.csv", 200)):
        (root / "data" / cat).mkdir(parents=True, exist_ok=True)
        ts = stamps(n)
        lines = ["timestamp,value"] + [
            f"{str(t).replace('T', ' ')},{v:.3f}"
            for t, v in zip(ts, np.sin(np.arange(n)), strict=True)
        ]
        (root / "data" / cat / name).write_text("\n".join(lines) + "\n")
    (root / "labels").mkdir(exist_ok=True)
    if windows is None:
        windows = {
            "realFake/a.csv": [["2020-01-01 20:00:00.000000", "2020-01-01 21:00:00.000000"]],
            "artificialFake/b.csv": [],
        }
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    return root


def test_load_corpus_reads_a_nab_tree(tmp_path: Path) -> None:
    corpus = load_corpus(write_root(tmp_path))
    assert sorted(corpus.series) == ["artificialFake/b.csv", "realFake/a.csv"]
    a = corpus.series["realFake/a.csv"]
    assert (a.category, len(a), a.timestamps.dtype) == ("realFake", 300, np.dtype("datetime64[s]"))
    assert a.epoch_seconds[1] - a.epoch_seconds[0] == 300.0
    assert corpus.profiles == nab.NAB_PROFILES  # no config/profiles.json: the published ones
    assert corpus.labelled.layouts["realFake/a.csv"].windows.tolist() == [[240, 252]]
    assert corpus.n_rows == 500
    only = load_corpus(tmp_path, categories=["realFake"])
    assert list(only.series) == ["realFake/a.csv"]


def test_load_profiles_and_windows(tmp_path: Path) -> None:
    prof = tmp_path / "profiles.json"
    prof.write_text(
        json.dumps({"x": {"CostMatrix": {"tpWeight": 1, "fpWeight": 0.5, "fnWeight": 3}}})
    )
    assert load_profiles(prof) == {"x": nab.CostMatrix(tp=1.0, fp=0.5, fn=3.0)}
    prof.write_text(json.dumps({"x": {"CostMatrix": {"tpWeight": 1}}}))
    with pytest.raises(NabDataError, match="weight"):
        load_profiles(prof)
    win = tmp_path / "w.json"
    win.write_text(json.dumps({"c/f.csv": [["2020-01-01 00:00:00", "2020-01-01 01:00:00"]]}))
    assert load_windows(win)["c/f.csv"][0][1] == np.datetime64("2020-01-01T01:00:00")
    win.write_text(json.dumps({"c/f.csv": [["2020-01-01 00:00:00"]]}))
    with pytest.raises(NabDataError, match="pair"):
        load_windows(win)


def test_load_corpus_errors_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANTMIND_NAB_ROOT", raising=False)
    with pytest.raises(NabDataError, match="PLANTMIND_NAB_ROOT"):
        load_corpus()
    with pytest.raises(NabDataError, match="does not exist"):
        load_corpus(tmp_path / "nowhere")
    root = write_root(tmp_path / "r1")
    (root / "labels" / "combined_windows.json").unlink()
    with pytest.raises(NabDataError, match=r"combined_windows\.json"):
        load_corpus(root)
    root = write_root(
        tmp_path / "r2",
        {
            "realFake/a.csv": [["2020-01-01 20:00:01", "2020-01-01 21:00:00"]],
            "artificialFake/b.csv": [],
        },
    )
    with pytest.raises(NabDataError, match="does not occur"):
        load_corpus(root)
    root = write_root(tmp_path / "r3", {"realFake/a.csv": []})
    with pytest.raises(NabDataError, match="no entry"):
        load_corpus(root)
    root = write_root(tmp_path / "r4")
    (root / "data" / "realFake" / "a.csv").write_text("time,val\n2020-01-01 00:00:00,1\n")
    with pytest.raises(NabDataError, match="header"):
        load_corpus(root)
    (root / "data" / "realFake" / "a.csv").write_text("timestamp,value\n2020-01-01 00:00:00,x\n")
    with pytest.raises(NabDataError, match="bad value"):
        load_corpus(root)
    monkeypatch.setenv("PLANTMIND_NAB_ROOT", str(write_root(tmp_path / "r5")))
    assert len(load_corpus().series) == 2
