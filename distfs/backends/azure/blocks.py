"""The azure writer's staging blob and block ids (every id of a blob has the same length: Azure's rule).

An id is ``<5-digit part number>-<32 hex digits>``: unique, so a part written again gets
a new id and a committed block list never names two blocks with one id, and the part
number can be read back from a block list.
"""

from __future__ import annotations

import uuid

__all__ = ["STAGING", "block_id", "part_number"]

#: The staging blob's name below an upload's scratch prefix.
STAGING = "staging"


def block_id(number: int) -> str:
    """A new block id for part ``number`` (1 to 50,000)."""
    return f"{number:05d}-{uuid.uuid4().hex}"


def part_number(block: str) -> int | None:
    """The part number of a block id made by :func:`block_id` (None for any other id)."""
    number, dash, rest = block.partition("-")
    return int(number) if dash and len(number) == 5 and number.isdigit() and len(rest) == 32 else None
