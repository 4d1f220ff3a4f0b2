"""SIGTERM stops a waiting main thread at once, even when the kernel hands the signal to another
thread (as it may in `serve` and `corral runner`, with their many gRPC and pool threads)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

CHILD = """
import signal, sys, threading, time
from corral._process import wait_for_stop

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
# Only the other thread may take SIGTERM now: the kernel delivers it there.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
print("ready", flush=True)
WAIT(stop)
print("stopped", flush=True)
"""


def _stops_within(wait: str, seconds: float) -> bool:
    code = CHILD.replace("WAIT(stop)", wait)
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            child.send_signal(signal.SIGTERM)
            started = time.monotonic()
            try:
                child.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                return False
            stopped = child.stdout.read().strip() == "stopped"
            return stopped and time.monotonic() - started < seconds
        finally:
            child.kill()
            child.wait()


def test_a_signal_taken_by_another_thread_still_stops_the_main_thread() -> None:
    assert _stops_within("wait_for_stop(stop)", 5.0)


def test_a_plain_wait_is_what_missed_it() -> None:
    # The failure this guards against, shown: a plain wait sleeps through the signal.
    assert not _stops_within("stop.wait()", 2.0)
