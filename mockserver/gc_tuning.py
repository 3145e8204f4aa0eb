"""Keep CPython's cyclic garbage collector from stalling requests when the store holds many records."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from time import monotonic


class _FreezeSurvivors:
    """A gc callback: what survives a collection is frozen; every `sweep_every` seconds, one full sweep.

    Frozen objects are never scanned again but are still freed by reference counting (stored messages hold
    no reference cycles); the sweep reclaims any cycle that died frozen.
    """

    def __init__(self, sweep_every: float) -> None:
        self.sweep_every = sweep_every
        self.next_sweep = monotonic() + sweep_every

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase != "stop":
            return
        gc.freeze()
        if monotonic() >= self.next_sweep:
            self.next_sweep = monotonic() + self.sweep_every
            with contextlib.suppress(RuntimeError):  # no loop running: the next collection sweeps
                asyncio.get_running_loop().call_soon(_sweep)


def _sweep() -> None:
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def tune_gc(sweep_every: float = 600.0) -> None:
    """Keep CPython's cyclic garbage collector cheap in a server whose store holds 100k messages.

    A collection scans every tracked object of its generations, about five per stored message, and objects
    that survive are scanned again by each older-generation collection: at 100k messages a full collection
    stalls every request for 100+ ms. So each object is scanned once, by its first young collection, then
    frozen; a full sweep runs every `sweep_every` seconds.
    """
    gc.collect()
    gc.freeze()
    gc.callbacks.append(_FreezeSurvivors(sweep_every))
