"""API tokens and per-view read access.

Tokens are configured as SHA-256 hashes only (a file or an environment
variable), so no secret sits in the repository or in the server's config:
the server hashes the bearer token of each request and looks the digest up.
Each token names the reader groups it belongs to (``*``: every view).

Who may read a view comes from dbt itself, read from the manifest:

1. ``config.meta.pitstop_readers`` (a group name or a list of them) on the
   model: only tokens in one of those groups;
2. otherwise dbt's model access ``private``: only tokens in the model's dbt
   ``group`` (as dbt lets only models of the same group ``ref`` it);
3. otherwise (``protected``, ``public``, no group): every valid token.

Nothing here logs or keeps a token: only its digest is compared and only the
token's configured name ever appears in messages.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pitstop.serving.errors import ForbiddenError, ServeConfigError, UnauthorizedError

__all__ = [
    "READERS_META_KEY",
    "AccessPolicy",
    "Principal",
    "Tokens",
    "hash_token",
    "parse_tokens",
]

READERS_META_KEY = "pitstop_readers"
ALL_VIEWS = "*"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_GROUP = re.compile(r"[A-Za-z0-9_.-]{1,128}|\*")


def hash_token(token: str | bytes) -> str:
    """The SHA-256 hex digest a token is configured as (``sha256sum`` prints the same)."""
    data = token.encode() if isinstance(token, str) else token
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid token belongs to: its configured name and reader groups."""

    name: str
    groups: frozenset[str]

    @property
    def reads_everything(self) -> bool:
        return ALL_VIEWS in self.groups


def parse_tokens(text: str, source: str) -> dict[str, Principal]:
    """Parse token entries: ``NAME SHA256 [GROUP,GROUP...]``, one per line or
    separated by ``;``; ``#`` starts a comment.

    Args:
        text: the entries.
        source: where they came from, for error messages (never the text itself).

    Returns:
        digest -> `Principal`.

    Raises:
        ServeConfigError: a malformed entry (named by its position), a value
            that is not a 64-digit hex SHA-256, or a repeated digest or name.
    """
    out: dict[str, Principal] = {}
    names: set[str] = set()
    entries = [part for line in text.splitlines() for part in line.split(";")]
    for number, raw in enumerate(entries, start=1):
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        fields = entry.split()
        where = f"{source}, entry {number}"
        if len(fields) not in (2, 3):
            raise ServeConfigError(
                f"{where}: expected `NAME SHA256 [GROUP,GROUP...]`, got {len(fields)} fields"
            )
        name, digest = fields[0], fields[1].lower().removeprefix("sha256:")
        if not _NAME.fullmatch(name):
            raise ServeConfigError(f"{where}: token name must match {_NAME.pattern}")
        if not _HEX64.fullmatch(digest):
            # never echo the value: it may be a plain-text token pasted by mistake
            raise ServeConfigError(
                f"{where} ({name}): the second field must be the token's SHA-256 as 64 hex "
                'digits (`printf %s "$TOKEN" | sha256sum`), never the token itself'
            )
        groups = frozenset(g for g in (fields[2].split(",") if len(fields) == 3 else []) if g)
        bad = sorted(g for g in groups if not _GROUP.fullmatch(g))
        if bad:
            raise ServeConfigError(f"{where} ({name}): invalid group name(s) {bad}")
        if digest in out:
            raise ServeConfigError(f"{where} ({name}): the same token hash is configured twice")
        if name in names:
            raise ServeConfigError(f"{where}: token name {name!r} is configured twice")
        names.add(name)
        out[digest] = Principal(name=name, groups=groups)
    return out


class Tokens:
    """The configured tokens; `authenticate` turns a request's headers into a `Principal`."""

    def __init__(self, principals: Mapping[str, Principal]) -> None:
        self._by_digest = dict(principals)

    def __len__(self) -> int:
        return len(self._by_digest)

    @classmethod
    def load(cls, text: str | None, file: str | Path | None) -> Tokens | None:
        """Tokens from an environment variable's text and/or a file; ``None`` when
        neither is configured (auth off). A configured but empty source means
        auth on with no valid token, never auth off."""
        if text is None and file is None:
            return None
        principals: dict[str, Principal] = {}
        if file is not None:
            path = Path(file)
            try:
                content = path.read_text()
            except OSError as exc:
                raise ServeConfigError(f"cannot read the token file {path}: {exc}") from None
            principals.update(parse_tokens(content, str(path)))
        if text is not None:
            for digest, principal in parse_tokens(text, "PITSTOP_SERVE_TOKENS").items():
                if digest in principals or principal.name in {p.name for p in principals.values()}:
                    raise ServeConfigError(
                        f"token {principal.name!r} is configured both in the file and in "
                        "PITSTOP_SERVE_TOKENS"
                    )
                principals[digest] = principal
        return cls(principals)

    def authenticate(self, headers: Iterable[tuple[bytes, bytes]]) -> Principal:
        """The principal of the request's ``Authorization: Bearer <token>``.

        Raises:
            UnauthorizedError: no such header, another scheme, or an unknown token.
        """
        value = None
        for key, raw in headers:
            if key == b"authorization":
                value = raw
                break
        if value is None:
            raise UnauthorizedError("missing API token: send `Authorization: Bearer <token>`")
        scheme, _, token = value.strip().partition(b" ")
        token = token.strip()
        if scheme.lower() != b"bearer" or not token:
            raise UnauthorizedError("the Authorization header must be `Bearer <token>`")
        principal = self._by_digest.get(hashlib.sha256(token).hexdigest())
        if principal is None:
            raise UnauthorizedError("invalid API token")
        return principal


@dataclass(frozen=True)
class AccessPolicy:
    """Per feature view, the reader groups allowed (absent: every valid token).

    Attributes:
        readers: view -> groups, for the views whose access is restricted.
        sources: view -> why (``meta.pitstop_readers`` or ``dbt access: private``),
            shown by the registry routes.
    """

    readers: Mapping[str, frozenset[str]]
    sources: Mapping[str, str]

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any], views: Iterable[str]) -> AccessPolicy:
        """Read each view's access from its manifest node (see the module docstring)."""
        wanted = set(views)
        readers: dict[str, frozenset[str]] = {}
        sources: dict[str, str] = {}
        for node in (manifest.get("nodes") or {}).values():
            name = node.get("name")
            if name not in wanted or node.get("resource_type") not in ("model", "snapshot"):
                continue
            config = node.get("config") or {}
            meta = config.get("meta") or node.get("meta") or {}
            declared = meta.get(READERS_META_KEY)
            if declared is not None:
                groups = [declared] if isinstance(declared, str) else declared
                if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
                    raise ServeConfigError(
                        f"model '{name}': meta.{READERS_META_KEY} must be a group name or a "
                        "list of group names"
                    )
                readers[name] = frozenset(groups)
                sources[name] = f"meta.{READERS_META_KEY}"
                continue
            access = node.get("access") or config.get("access")
            group = node.get("group") or config.get("group")
            if access == "private" and group:
                readers[name] = frozenset([str(group)])
                sources[name] = "dbt access: private"
        return cls(readers=readers, sources=sources)

    def can_read(self, principal: Principal | None, view: str) -> bool:
        """Whether ``principal`` (``None``: auth is off) may read ``view``."""
        if principal is None or principal.reads_everything:
            return True
        groups = self.readers.get(view)
        return groups is None or not groups.isdisjoint(principal.groups)

    def check(self, principal: Principal | None, views: Iterable[str]) -> None:
        """Raise `ForbiddenError` naming the first view ``principal`` may not read."""
        if principal is None:
            return
        for view in views:
            if not self.can_read(principal, view):
                raise ForbiddenError(f"token {principal.name!r} may not read feature view '{view}'")

    def describe(self, view: str) -> dict[str, Any]:
        """``{"readers": [...] | None, "rule": ...}`` for the registry routes."""
        groups = self.readers.get(view)
        return {
            "readers": sorted(groups) if groups is not None else None,
            "rule": self.sources.get(view, "any valid token"),
        }
