"""Domain errors: a stable code and an HTTP status, translated once per door."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class DomainError(Exception):
    code = "bad_request"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 422


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class Gone(DomainError):
    code = "gone"
    status = 410


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429

    def __init__(self, retry_after_s: int, message: str = "Too many requests") -> None:
        retry_after_s = max(1, retry_after_s)
        super().__init__(
            f"{message}; retry in {retry_after_s} s",
            details={"retry_after": retry_after_s},
            headers={"Retry-After": str(retry_after_s)},
        )
        self.retry_after_s = retry_after_s


class Unavailable(DomainError):
    """PostgreSQL or Redis cannot be reached right now (restarting, failing over): the
    request did nothing and may be retried."""

    code = "service_unavailable"
    status = 503

    def __init__(self, retry_after_s: int = 5) -> None:
        super().__init__(
            f"The service is briefly unavailable; retry in {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
        )


def from_backend(exc: BaseException) -> DomainError | None:
    """What a failure of the database or Redis means for the client, when it is not a bug:
    input the database refused as data (an id past bigint, a malformed value) is the client's
    mistake; a lost or refused connection is a 503 to retry."""
    from asyncpg.exceptions import DataError as AsyncpgDataError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

    orig = getattr(exc, "orig", None)
    if isinstance(exc, DataError) or isinstance(getattr(orig, "__cause__", None), AsyncpgDataError):
        # The server's data exceptions, and asyncpg's own refusal to encode a parameter
        # (a number past bigint that reached it): input, not a crash.
        return InvalidInput("A value is out of range or malformed", code="invalid_input")
    if isinstance(exc, IntegrityError) and getattr(orig, "sqlstate", None) == "23503":
        # Services check what a write refers to first, so a foreign key violation means it
        # was deleted in between (a party created on a title being removed).
        return Conflict(
            "Something this refers to was removed meanwhile; reload and try again",
            code="gone_meanwhile",
        )
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return Unavailable()
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return Unavailable()
    return None


_INT64 = 2**63


def check_storable(value: Any, where: str) -> None:
    """Input PostgreSQL cannot store is bad input, not a crash: every id and count is a
    bigint, and text may not contain NUL characters."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise InvalidInput(f"A number in the {where} is out of range", code="invalid_input")
    elif isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput(
                f"Text in the {where} contains a NUL character", code="invalid_input"
            )
    elif hasattr(value, "__pydantic_fields__"):
        for item in value.__dict__.values():
            check_storable(item, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key, where)
            check_storable(item, where)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_storable(item, where)


def parse_id(raw: str) -> int | None:
    """A bigint id written in ASCII digits, else None. str.isdigit() alone also accepts "³"
    (which int() refuses) and other scripts' digits (which int() reads)."""
    if not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value < _INT64 else None


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors as {loc, message, type}, without echoing the input back."""
    return [
        {"loc": [str(p) for p in err["loc"]], "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


class TransientDeliveryError(Exception):
    """Some sends (mail, push) failed for reasons worth retrying; the rest went out. Not a
    DomainError: no client sees it, the job that raised it is retried."""
