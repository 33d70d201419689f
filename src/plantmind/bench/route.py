"""``plantmind bench route``: the router's own cost per call and the durable queue's
throughput.

Overhead is measured with in-process model clients that answer at once, so what is left is
the router: the policy decision, redaction (three patterns, on the central path), restoring
placeholders and queueing the call-log row; the model's own time is excluded by construction
(``RoutedResult.overhead_ms`` = total − time inside the client). The queue figure is a full
cycle per task: a durable ``put`` (committed, fsynced) while the centre is down, then
``claim``, the call and ``complete`` (two more commits) once it is back.
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from plantmind.core.routing import LlmSettings
from plantmind.llm.client import ChatResult
from plantmind.llm.policy import Task
from plantmind.llm.router import Router

__all__ = ["run_route_bench"]


class _Instant:
    """A model client that answers at once (echo), as an in-process stand-in."""

    available = True

    def __init__(self, name: str) -> None:
        self.name = name

    def chat(self, messages: Sequence[Mapping[str, Any]], **_: Any) -> ChatResult:
        text = str(messages[-1].get("content", ""))
        return ChatResult(text, self.name, 0.0, {"prompt_tokens": 10, "completion_tokens": 5})

    def close(self) -> None:
        pass


_SETTINGS = {
    "endpoints": {
        "edge": {"url": "http://edge.invalid/v1", "model": "edge"},
        "central": {"url": "http://central.invalid/v1", "model": "central"},
    },
    "rules": [
        {"name": "judge-central", "when": {"kinds": ["comply.judge"],
         "sensitivities": ["public", "internal"]}, "place": "central", "on_unreachable": "queue"},
        {"name": "translate-central", "when": {"kinds": ["language.translate"],
         "sensitivities": ["public", "internal"], "max_tokens": 4000}, "place": "central",
         "on_unreachable": "edge"},
        {"name": "vision-fallback", "when": {"kinds": ["vision.explain"]}, "place": "fallback"},
    ],
    "redaction": {"patterns": [
        {"name": "staff", "kind": "employee", "terms": ["Jane Doe", "John Roe", "Ann Lee"]},
        {"name": "staff-ids", "kind": "employee", "regex": r"\bE\d{5}\b"},
        {"name": "customers", "kind": "customer", "terms": ["Globex", "Initech"]},
    ]},
}  # fmt: skip

_PROMPT = (
    "Procedure SOP-114 step 3: Jane Doe (E12345) isolates the Globex line, checks the blow-down "
    "valve reads 0 bar and records the lockout tag. Does this meet clause 4.2.1 of the standard?"
)


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def run_route_bench(
    n_calls: int = 20_000,
    n_queue: int = 2_000,
    *,
    home: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Router overhead per call (p50/p99 in ms) and queue tasks per second."""
    say = progress or (lambda _msg: None)
    settings = LlmSettings.model_validate(_SETTINGS)
    with tempfile.TemporaryDirectory(prefix="plantmind-bench-route-") as tmp:
        root = home or Path(tmp)
        clients = {"edge": _Instant("edge"), "central": _Instant("central")}
        router = Router(settings, home=root, clients=clients)
        try:
            kinds = ["assist.answer", "comply.judge", "language.translate", "vision.explain"]
            msgs = [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": _PROMPT},
            ]
            for i in range(500):  # warm-up: caches, the log's writer thread
                router.run(Task(kinds[i % 4], msgs), fallback=lambda t: "")
            say(f"routing {n_calls:,} calls ...")
            overhead: dict[str, list[float]] = {}
            t0 = time.perf_counter()
            for i in range(n_calls):
                res = router.run(Task(kinds[i % 4], msgs), fallback=lambda t: "")
                overhead.setdefault(res.placement, []).append(res.overhead_ms)
            wall = time.perf_counter() - t0
            every = [x for v in overhead.values() for x in v]
            router.log.flush()  # type: ignore[union-attr]

            say(f"queueing {n_queue:,} tasks with the centre down, then draining ...")
            router.mark_down("central", "benchmark")
            judge = [Task("comply.judge", msgs) for _ in range(n_queue)]
            t1 = time.perf_counter()
            for task in judge:
                router.run(task)
            t2 = time.perf_counter()
            router.mark_up("central")  # the centre is back
            drained = router.drain()
            t3 = time.perf_counter()
            counts = router.queue.counts()  # type: ignore[union-attr]
        finally:
            router.close()
    return {
        "calls": n_calls,
        "overhead_p50_ms": round(_pct(every, 0.5), 4),
        "overhead_p99_ms": round(_pct(every, 0.99), 4),
        "overhead_mean_ms": round(statistics.fmean(every), 4),
        "overhead_by_placement_ms": {
            p: {"calls": len(v), "p50": round(_pct(v, 0.5), 4), "p99": round(_pct(v, 0.99), 4)}
            for p, v in sorted(overhead.items())
        },
        "routed_calls_per_s": round(n_calls / wall),
        "queue_tasks": n_queue,
        "queue_tasks_per_s": round(n_queue / (t3 - t1)),
        "queue_put_per_s": round(n_queue / (t2 - t1)),
        "queue_drain_per_s": round(drained / (t3 - t2)) if drained else 0,
        "queue_completed": drained,
        "queue_states": counts,
        "machine": f"{platform.machine()} {platform.python_implementation()} "
        f"{platform.python_version()}",
    }
