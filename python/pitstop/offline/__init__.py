"""Offline: everything that runs the project's macros on the warehouse.

Training sets (`training_set`) and feature history (`feature_history`) compile
the very macros dbt models call (`pitstop.point_in_time_join`,
`pitstop.feature_history`) and run the SQL on DuckDB: one implementation of
the semantics, shared with dbt. The submodules are imported when used, so this
package costs nothing to import.
"""

from __future__ import annotations

from pitstop.offline.compile import (
    compile_inline,
    compile_macro,
    connect,
    jinja_literal,
    macro_call,
    session,
)

__all__ = [
    "compile_inline",
    "compile_macro",
    "connect",
    "jinja_literal",
    "macro_call",
    "session",
]
