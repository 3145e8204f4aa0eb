"""Random (version 4) UUIDs for the records the mock creates."""

from __future__ import annotations

import os
import random
import uuid

# Seeded once from the OS: ids need to be unique, not secret, and uuid.uuid4() makes a system call for each
# (two thirds of its 3.5 µs, a few per cent of accepting a message). Not the seeded simulation randomness:
# ids differ from run to run, like the real service's.
_bits = random.Random(os.urandom(32)).getrandbits


def new_uuid() -> str:
    return str(uuid.UUID(int=_bits(128), version=4))
