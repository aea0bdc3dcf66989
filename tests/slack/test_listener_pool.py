"""The listener executor: acks never wait for a work slot, and slots go to listeners in the order they acked."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bot.slack.listener_pool import FairSlots, ListenerPool


def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.001)


def test_a_released_slot_goes_to_the_oldest_waiter_not_back_to_the_releaser() -> None:
    slots = FairSlots(1)
    slots.acquire()
    order: list[str] = []

    def worker(name: str) -> None:
        slots.acquire()
        order.append(name)
        slots.release()

    threads = []
    for waiting, name in enumerate(("first", "second"), start=1):
        threads.append(thread := threading.Thread(target=worker, args=(name,)))
        thread.start()
        until(lambda w=waiting: slots.waiting == w)
    slots.release()
    slots.acquire()  # a plain Semaphore hands the slot straight back here, ahead of both waiters
    order.append("releaser")
    slots.release()
    for thread in threads:
        thread.join(timeout=5)
    assert order == ["first", "second", "releaser"]


def test_slots_are_shared_out_up_to_their_number() -> None:
    slots = FairSlots(2)
    slots.acquire()
    slots.acquire()
    third = threading.Thread(target=slots.acquire)
    third.start()
    until(lambda: slots.waiting == 1)
    assert third.is_alive()
    slots.release()
    third.join(timeout=5)
    assert not third.is_alive() and slots.waiting == 0


def test_listeners_ack_at_once_while_the_work_waits_for_a_slot_in_ack_order() -> None:
    pool = ListenerPool(workers=1)
    acked: list[int] = []
    worked: list[int] = []
    lock = threading.Lock()
    gate = threading.Event()

    def listener(number: int) -> None:
        with lock:
            acked.append(number)
        pool.after_ack()  # what KeptAck calls right after the ack
        gate.wait(5)
        with lock:
            worked.append(number)

    futures = [pool.submit(listener, n) for n in range(20)]
    until(lambda: len(acked) == 20)  # every ack given although one slot is taken and the rest wait
    assert worked == []
    gate.set()
    for future in futures:
        future.result(timeout=5)
    assert worked == acked
    pool.shutdown()
