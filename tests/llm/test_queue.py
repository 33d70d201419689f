"""The durable task queue: survives a reopen, completes each task once, refuses when full,
takes over a dead process's in-flight task but not a live one's."""

from __future__ import annotations

import pytest

from plantmind.llm.queue import QueueFullError, TaskQueue


def test_states_and_exactly_once_completion(tmp_path):
    q = TaskQueue(tmp_path / "q.db", max_tasks=3)
    for i in range(3):
        q.put(f"t{i}", "comply.judge", "central", {"n": i})
    q.put("t0", "comply.judge", "central", {"n": 0})  # same id: no second task
    with pytest.raises(QueueFullError):
        q.put("t9", "comply.judge", "central", {})
    assert q.claim("edge") is None
    a = q.claim("central")
    assert a is not None and a.id == "t0" and a.attempts == 1 and a.state == "inflight"
    assert q.complete("t0", {"text": "yes"}) is True
    assert q.complete("t0", {"text": "again"}) is False
    assert q.get("t0").result == {"text": "yes"}
    b = q.claim("central")
    q.release(b.id, "HTTP 500", final=False)
    q.close()
    q = TaskQueue(tmp_path / "q.db")  # reopened: nothing lost
    assert q.counts() == {"done": 1, "pending": 2} and q.waiting == 2
    b = q.claim("central")
    assert b.id == "t1" and b.attempts == 2 and b.error == "HTTP 500"
    q.release(b.id, "HTTP 500", final=True)
    assert q.get("t1").state == "failed" and q.waiting == 1
    q.close()


def test_inflight_of_a_live_process_is_not_taken_over(tmp_path):
    q = TaskQueue(tmp_path / "q.db")
    q.put("t0", "chat", "central", {})
    assert q.claim("central").id == "t0"
    # this process is alive and holds it: no second claim within the lease
    assert q.claim("central") is None
    assert q.claim("central", lease_s=-1).id == "t0"  # an expired lease is taken over
    q.close()
