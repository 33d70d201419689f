"""The hub's job runner: accepted jobs survive a stop, failures keep their message and do not
stop the runner, progress and result files are visible, unsafe file names are refused."""

from __future__ import annotations

import threading
import time

import pytest

from plantmind.central.jobs import JobContext, JobError, JobRunner, JobStore, UnknownJobKind


def count_words(ctx: JobContext) -> dict:
    """A real job: counts the words of every input file and writes a report file."""
    files = sorted(p for p in ctx.inputs.rglob("*") if p.is_file())
    if not files:
        raise JobError("no input files")
    counts = {}
    for i, p in enumerate(files):
        counts[p.name] = len(p.read_text(encoding="utf-8").split())
        ctx.progress(i + 1, len(files), f"read {p.name}")
    (ctx.out / "counts.txt").write_text(repr(counts), encoding="utf-8")
    return {"counts": counts, "upper": ctx.params.get("upper", False)}


def crash(ctx: JobContext) -> dict:
    raise RuntimeError("disk on fire")


KINDS = {"count": count_words, "crash": crash, "needs-input": count_words}


def test_job_runs_and_reports_progress_result_and_files(tmp_path):
    runner = JobRunner(JobStore(tmp_path), KINDS)
    job_id = runner.submit("count", {"upper": True}, {"a.txt": b"one two three", "b/c.txt": b"x"})
    job = runner.store.get(job_id)
    assert job["status"] == "queued" and job["result"] is None
    assert runner.run_pending() == 1
    job = runner.store.get(job_id)
    assert job["status"] == "done"
    assert job["result"] == {"counts": {"a.txt": 3, "c.txt": 1}, "upper": True}
    assert (job["done"], job["total"]) == (2, 2)
    assert job["files"] == ["counts.txt"]
    assert runner.store.file_path(job_id, "counts.txt").read_text() == repr(
        {"a.txt": 3, "c.txt": 1}
    )
    assert runner.store.file_path(job_id, "../inputs/a.txt") is None


def test_failures_keep_their_message_and_the_runner_goes_on(tmp_path):
    runner = JobRunner(JobStore(tmp_path), KINDS)
    bad = runner.submit("crash", {})
    empty = runner.submit("needs-input", {})
    good = runner.submit("count", {}, {"a.txt": b"a b"})
    assert runner.run_pending() == 3
    assert runner.store.get(bad)["status"] == "failed"
    assert runner.store.get(bad)["error"] == "RuntimeError: disk on fire"
    assert runner.store.get(empty)["error"] == "no input files"
    assert runner.store.get(good)["result"]["counts"] == {"a.txt": 2}
    with pytest.raises(UnknownJobKind, match="unknown job kind 'nope'"):
        runner.submit("nope", {})


def test_a_job_interrupted_by_a_stop_runs_again_after_the_restart(tmp_path):
    store = JobStore(tmp_path)
    runner = JobRunner(store, KINDS)
    job_id = runner.submit("count", {}, {"a.txt": b"a b c d"})
    assert store.claim()["id"] == job_id  # the hub stopped while the job was running
    store.close()

    store2 = JobStore(tmp_path)  # a new hub process on the same home
    runner2 = JobRunner(store2, KINDS)
    assert store2.requeue_interrupted() == 1
    assert store2.get(job_id)["message"] == "requeued after a restart"
    assert runner2.run_pending() == 1
    job = store2.get(job_id)
    assert job["status"] == "done" and job["attempts"] == 2
    assert job["result"]["counts"] == {"a.txt": 4}


def test_a_job_that_keeps_stopping_the_hub_is_not_started_forever(tmp_path):
    store = JobStore(tmp_path)
    job_id = JobRunner(store, KINDS).submit("count", {}, {"a.txt": b"a"})
    for _ in range(3):
        assert store.claim()["id"] == job_id
        store.requeue_interrupted(max_attempts=3)
    job = store.get(job_id)
    assert job["status"] == "failed" and "interrupted 3 times" in job["error"]


def test_worker_threads_pick_up_submitted_jobs(tmp_path):
    done = threading.Event()

    def signal_done(ctx: JobContext) -> dict:
        done.set()
        return {"ok": True}

    runner = JobRunner(JobStore(tmp_path), {"x": signal_done})
    runner.start()
    try:
        job_id = runner.submit("x", {})
        assert done.wait(10)
        for _ in range(100):
            if runner.store.get(job_id)["status"] == "done":
                break
            time.sleep(0.05)
        assert runner.store.get(job_id)["result"] == {"ok": True}
    finally:
        runner.close()
