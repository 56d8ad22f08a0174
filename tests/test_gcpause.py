"""The collector's pause is counted: nested and concurrent pauses (the live reloader and a
/reload building at once) leave it as it was found, never switched off for good."""

from __future__ import annotations

import gc
import sys
import threading

from servicebot import gcpause


def test_nested_pauses_end_with_the_outermost():
    assert gc.isenabled()
    with gcpause.paused():
        with gcpause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer step is still building
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off():
    gc.disable()
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_threads_pausing_at_once_leave_the_collector_on():
    """With threads switching every microsecond, each thread reading and restoring the flag on
    its own (the code before) left the collector off in 5 of 5 trials."""
    start = threading.Barrier(8)

    def build():
        start.wait()
        for _ in range(2000):
            with gcpause.paused():
                pass

    threads = [threading.Thread(target=build) for _ in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert not any(t.is_alive() for t in threads)
    assert gc.isenabled()
