"""Online stores: where `materialize` writes the latest feature values and
lookups read them. Store kinds are looked up by name (`get_online_store`);
each kind's module (and its client library) is imported only when used."""

from __future__ import annotations

from pitstop.online.base import (
    STORES,
    OnlineMetadata,
    OnlineStore,
    OnlineWriter,
    get_online_store,
    online_store_config,
)

__all__ = [
    "STORES",
    "OnlineMetadata",
    "OnlineStore",
    "OnlineWriter",
    "get_online_store",
    "online_store_config",
]
