"""Bolt's listener executor: every listener starts at once so its ack never queues; slow work takes turns after it."""

from __future__ import annotations

import atexit
import queue
import threading
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]
MAX_THREADS = 1024  # listeners waiting for a work slot park here: a thread each, no CPU
IDLE_SECONDS = 30.0  # threads beyond the busy ones leave after this long without work
_POOLS: weakref.WeakSet[ListenerPool] = weakref.WeakSet()


class FairSlots:
    """A counting semaphore that serves waiters in arrival order.

    threading.Semaphore lets a thread that just released a slot take it straight back for its next job
    before the waiter it woke runs, so under load work acknowledged early can wait behind work acknowledged
    later, indefinitely. Here a released slot is handed to the oldest waiter.
    """

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._lock = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiters)

    def acquire(self) -> None:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            gate = threading.Lock()
            gate.acquire()
            self._waiters.append(gate)
        gate.acquire()  # opened by release(), which hands its slot over

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1


class ListenerPool(Executor):
    """A plain pool of N threads makes a listener wait for a free thread before it can even ack, so under
    load acks queue behind grants and miss Slack's 3 s. Here a listener gets a thread at once (new threads
    are started as needed and leave when idle); once it has acked it waits for one of `workers` slots,
    which bound the slow work (database pool, AWS, Slack) exactly as a pool of `workers` threads did, and
    are given out in the order the listeners acked."""

    def __init__(self, workers: int = 16, *, max_threads: int = MAX_THREADS,
                 idle_seconds: float = IDLE_SECONDS) -> None:
        self._slots = FairSlots(workers)
        self._max_threads, self._idle_seconds = max_threads, idle_seconds
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._idle = self._waiting = 0
        self._closed = False
        self._local = threading.local()
        _POOLS.add(self)

    @property
    def threads(self) -> int:
        with self._lock:
            return len(self._threads)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._jobs.put((future, fn, args, kwargs))
            self._waiting += 1
            if self._waiting > self._idle and len(self._threads) < self._max_threads:
                thread = threading.Thread(target=self._loop, name=f"pam-listener-{len(self._threads)}",
                                          daemon=True)  # idle ones must not hold up exit; _drain_at_exit waits
                self._threads.add(thread)
                thread.start()
        return future

    def after_ack(self) -> None:
        """Called right after a listener's ack (Slack already has its answer): wait for a work slot."""
        if getattr(self._local, "state", None) == "started":
            self._slots.acquire()
            self._local.state = "working"

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Finish every job submitted so far (listeners have acked: their work is never dropped), then stop."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(None)  # after the queued jobs: each thread takes one and leaves
        if wait:
            for thread in threads:
                thread.join()

    def _loop(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            try:
                job = self._jobs.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    self._idle -= 1
                    if not self._waiting:
                        self._threads.discard(threading.current_thread())
                        return
                continue
            with self._lock:
                self._idle -= 1
                if job is not None:
                    self._waiting -= 1
            if job is None:
                with self._lock:
                    self._threads.discard(threading.current_thread())
                return
            self._run(*job)

    def _run(self, future: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        self._local.state = "started"
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the future, as ThreadPoolExecutor does
            future.set_exception(error)
        finally:
            if self._local.state == "working":
                self._slots.release()
            self._local.state = None


@atexit.register
def _drain_at_exit() -> None:
    """Like ThreadPoolExecutor: work already acknowledged finishes before the interpreter exits."""
    for pool in list(_POOLS):
        pool.shutdown(wait=True)
