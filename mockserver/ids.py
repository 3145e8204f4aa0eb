"""Random (version 4) UUIDs for the records the mock creates."""

from __future__ import annotations

import os
import random

# Seeded once from the OS: ids need to be unique, not secret, and uuid.uuid4() makes a system call for each.
# Not the seeded simulation randomness: ids differ from run to run, like the real service's.
_bits = random.Random(os.urandom(32)).getrandbits
_VERSION_4 = (0x4 << 76) | (0b10 << 62)  # version 4, RFC 4122 variant
_KEEP = ~((0xF << 76) | (0b11 << 62))


def new_uuid() -> str:
    # Formatted here rather than by uuid.UUID: its constructor and __str__ were two thirds of the cost; bytes.hex()
    # takes half the time of format(n, "032x").
    digits = (_bits(128) & _KEEP | _VERSION_4).to_bytes(16).hex()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
