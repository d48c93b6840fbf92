"""Organisations, members and API tokens.

A token is `htk_` + 43 base62 chars of 32 random bytes + a 6-char CRC32 checksum (so typos
and truncation are caught before any lookup). Only its SHA-256 is stored; the display
prefix (first 12 chars) lists and revokes it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis

from api.domain.errors import Conflict, Forbidden, NotFound, Unauthorized
from api.domain.task import ALL_SCOPES
from api.store import keys
from api.store.codec import text, text_hash

TOKEN_PREFIX = "htk_"  # noqa: S105 - a public marker, not a secret
DISPLAY_PREFIX_LEN = 12
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(number: int, width: int) -> str:
    out = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        out.append(_B62[digit])
    return "".join(reversed(out))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), 6)


def new_token() -> str:
    body = TOKEN_PREFIX + _base62(int.from_bytes(secrets.token_bytes(32), "big"), 43)
    return body + _checksum(body)


def well_formed(token: str) -> bool:
    if not token.startswith(TOKEN_PREFIX) or len(token) != len(TOKEN_PREFIX) + 49:
        return False
    return hmac.compare_digest(token[-6:], _checksum(token[:-6]))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Member:
    id: str
    org_id: str
    email: str
    name: str
    admin: bool = False


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's org, member and scopes."""

    org_id: str
    member: Member
    scopes: frozenset[str]
    token_prefix: str

    def require(self, scope: str) -> None:
        if scope not in self.scopes and "admin" not in self.scopes:
            raise Forbidden(f"this token lacks the {scope} scope")

    @property
    def sees_links(self) -> bool:
        """A task's link answers it (unless it needs an email code), so only tokens that
        may create or complete tasks see `url` and `link_id`; `tasks:read` alone does not."""
        return bool(self.scopes & {"tasks:create", "tasks:complete", "admin"})


def checked_digest(token: str | None) -> str:
    """The SHA-256 to look a token up by; 401 for a token that cannot be one of ours."""
    if not token or not well_formed(token):
        raise Unauthorized("missing or invalid API token")
    return token_hash(token)


def principal_from_record(digest: str, raw: Mapping[bytes | str, bytes | str]) -> Principal:
    """The caller described by a token record (401 if there is none)."""
    record = text_hash(raw)
    # Found by its hash already; the constant-time compare keeps that explicit.
    if not record or not hmac.compare_digest(record.get("digest", ""), digest):
        raise Unauthorized("missing or invalid API token")
    member = Member(record["member_id"], record["org_id"], record["member_email"],
                    record["member_name"], record["member_admin"] == "1")
    return Principal(record["org_id"], member, frozenset(record["scopes"].split()),
                     record["prefix"])


class Directory:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def create_org(self, name: str) -> str:
        org_id = "org_" + uuid.uuid4().hex[:16]
        if not self.redis.hsetnx(keys.ORGS_BY_NAME, name, org_id):
            raise Conflict(f"an org named {name!r} exists")
        self.redis.hset(keys.org(org_id), mapping={"id": org_id, "name": name})
        return org_id

    def org_id(self, name_or_id: str) -> str:
        if self.redis.exists(keys.org(name_or_id)):
            return name_or_id
        found = self.redis.hget(keys.ORGS_BY_NAME, name_or_id)
        if found is None:
            raise NotFound(f"no org {name_or_id!r}")
        return text(found)

    def org_name(self, org_id: str) -> str:
        return text(self.redis.hget(keys.org(org_id), "name") or b"")

    def add_member(self, org_id: str, email: str, name: str, admin: bool = False) -> Member:
        member = Member("mem_" + uuid.uuid4().hex[:16], org_id, email.lower(), name, admin)
        if not self.redis.hsetnx(keys.org_members(org_id), member.email, member.id):
            raise Conflict(f"{email} is already a member")
        self.redis.sadd(keys.members_by_email(member.email), member.id)
        self.redis.hset(keys.member(member.id), mapping={
            "id": member.id, "org_id": org_id, "email": member.email, "name": name,
            "admin": "1" if admin else "0"})
        return member

    def member(self, member_id: str) -> Member:
        raw = self.redis.hgetall(keys.member(member_id))
        if not raw:
            raise NotFound("member not found")
        row = text_hash(raw)
        return Member(row["id"], row["org_id"], row["email"], row["name"], row["admin"] == "1")

    def find_member(self, org_id: str, member_id: str) -> Member | None:
        """The member with this id if it belongs to `org_id`."""
        try:
            member = self.member(member_id)
        except NotFound:
            return None
        return member if member.org_id == org_id else None

    def members_with_email(self, email: str) -> list[Member]:
        """Every org's member with this email, ordered by org name."""
        ids = self.redis.smembers(keys.members_by_email(email.lower()))
        found = [self.member(text(i)) for i in ids]
        return sorted(found, key=lambda m: self.org_name(m.org_id))

    def member_by_email(self, org_id: str, email: str) -> Member | None:
        member_id = self.redis.hget(keys.org_members(org_id), email.lower())
        return self.member(text(member_id)) if member_id else None

    def members(self, org_id: str) -> list[Member]:
        ids = self.redis.hvals(keys.org_members(org_id))
        return [self.member(text(i)) for i in ids]

    def create_token(self, member: Member, scopes: Iterable[str], label: str = "") -> str:
        scopes = sorted(set(scopes))
        unknown = set(scopes) - set(ALL_SCOPES)
        if unknown or not scopes:
            raise ValueError(f"scopes must be among {', '.join(ALL_SCOPES)}")
        token, digest, prefix = self._claim_prefix()
        pipe = self.redis.pipeline()
        # The member is copied into the record so authenticating is one round trip.
        pipe.hset(keys.token(digest), mapping={
            "digest": digest, "org_id": member.org_id, "member_id": member.id,
            "member_email": member.email, "member_name": member.name,
            "member_admin": "1" if member.admin else "0", "scopes": " ".join(scopes),
            "prefix": prefix, "label": label, "created_at": datetime.now(UTC).isoformat()})
        pipe.sadd(keys.org_tokens(member.org_id), prefix)
        pipe.execute()
        return token

    def _claim_prefix(self) -> tuple[str, str, str]:
        """A new token whose display prefix no other token has (listing and revoking go
        by prefix); a clash, about one in 10^14 per pair, draws again."""
        while True:
            token = new_token()
            digest, prefix = token_hash(token), token[:DISPLAY_PREFIX_LEN]
            if self.redis.set(keys.token_prefix(prefix), digest, nx=True):
                return token, digest, prefix

    def authenticate(self, token: str | None) -> Principal:
        digest = checked_digest(token)
        return principal_from_record(digest, self.redis.hgetall(keys.token(digest)))

    def tokens(self, org_id: str) -> list[dict[str, str]]:
        rows = []
        for prefix in sorted(text(p) for p in self.redis.smembers(keys.org_tokens(org_id))):
            digest = self.redis.get(keys.token_prefix(prefix))
            raw = self.redis.hgetall(keys.token(text(digest))) if digest else {}
            row = text_hash(raw)
            rows.append({k: row.get(k, "") for k in ("prefix", "scopes", "label",
                                                     "member_id", "created_at")})
        return rows

    def revoke_token(self, prefix: str, org_id: str | None = None) -> None:
        found = self.redis.get(keys.token_prefix(prefix))
        digest = text(found) if found else ""
        record_org = self.redis.hget(keys.token(digest), "org_id") if digest else None
        if record_org is None or (org_id is not None and text(record_org) != org_id):
            raise NotFound(f"no token with prefix {prefix!r}")
        pipe = self.redis.pipeline()
        pipe.delete(keys.token(digest), keys.token_prefix(prefix))
        pipe.srem(keys.org_tokens(text(record_org)), prefix)
        pipe.execute()
