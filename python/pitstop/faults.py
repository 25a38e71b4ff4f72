"""One named fault-injection point, for crash tests of atomic writes.

Production code marks the places where a crash must leave the online store as
it was with `fault_point("materialize.before_commit")`. Unless
``PITSTOP_FAULT`` names that point the call is a dictionary lookup and
returns; when it does, the process touches ``PITSTOP_FAULT_FILE`` and sleeps
until the test kills it (``kill -9``), which is the crash being tested.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from pitstop.settings import env

__all__ = ["FAULT_POINTS", "fault_point"]

FAULT_POINTS = ("materialize.after_write", "materialize.before_commit")


def fault_point(name: str) -> None:
    """Stop here, forever, when the tests ask for a crash at ``name``."""
    if name not in FAULT_POINTS:
        raise ValueError(f"unknown fault point {name!r}")
    if env("PITSTOP_FAULT") != name:
        return
    marker = env("PITSTOP_FAULT_FILE")
    if marker:
        Path(marker).write_text(str(os.getpid()))
    print(
        f"pitstop: stopped at fault point {name} (pid {os.getpid()})", file=sys.stderr, flush=True
    )
    while True:
        time.sleep(3600)
