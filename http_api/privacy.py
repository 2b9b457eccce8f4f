"""My data: exports (a job, a signed download link) and account deletion."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import FileResponse, Response

from http_api.routing import Api, Call
from models.accounts.schemas import Accepted, Input, UndoEmailIn
from models.core.errors import NotFound
from models.privacy import service
from models.privacy.service import DeletionOut, ExportOut

api = Api(tags=["my data"])


class DownloadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expires: int = Field(ge=0, le=2**62)
    sig: str = Field(pattern=r"^[0-9a-f]{64}$")  # HMAC-SHA256, hex


class DeletionIn(Input):
    current_password: str = Field(min_length=1, max_length=1024)
    # Erase now instead of after the grace period (nothing can be undone then).
    immediately: bool = False


@api.post("/me/exports", response=ExportOut, status=202, errors=(429,))
async def request_export(call: Call) -> ExportOut:
    """Ask for a copy of everything my account holds (profile, sessions, ratings, comments,
    lists, favorites, messages, history, parties...). A job builds a zip and mails a signed
    link valid EXPORT_TTL_S; GET /me/exports shows it too. 3 a day."""
    async with call.transaction() as session:
        return await service.do_request_export(
            call.ctx, session, call.outbox, principal=call.require_user()
        )


@api.get("/me/exports", response=list[ExportOut])
async def list_exports(call: Call) -> list[ExportOut]:
    """My exports, newest first, with their download links while they work."""
    async with call.transaction() as session:
        return await service.list_exports(call.ctx, session, principal=call.require_user())


@api.get(
    "/exports/{export_id}/download",
    query=DownloadQuery,
    raw_response="application/zip",
    auth="none",
    errors=(403, 404, 410),
)
async def download_export(call: Call) -> Response:
    """The signed link of an export (no sign-in: the link is the key). 403 when forged,
    410 once expired."""
    try:
        export_id = uuid.UUID(call.params["export_id"])
    except ValueError as exc:
        raise NotFound("No such export", code="export_not_found") from exc
    async with call.transaction() as session:
        path = await service.access_download(
            call.ctx, session, export_id=export_id, expires=call.query.expires, sig=call.query.sig
        )
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"cinema-data-{export_id}.zip",
        headers={"Cache-Control": "private, no-store"},
    )


@api.post("/me/deletion", body=DeletionIn, response=DeletionOut, status=202, errors=(403, 429))
async def request_deletion(call: Call) -> DeletionOut:
    """Delete my account (needs the password). Every session ends; after
    ACCOUNT_DELETION_GRACE_S (7 days) everything personal is erased: my comments stay, shown
    as from a deleted user, my messages stay with the people I wrote to, all else goes. Until
    then signing in and DELETE /me/deletion (or the mailed link) undoes it. `immediately`
    erases at once."""
    async with call.transaction() as session:
        return await service.do_request_deletion(
            call.ctx,
            session,
            call.outbox,
            principal=call.require_user(),
            current_password=call.body.current_password,
            immediately=call.body.immediately,
        )


@api.delete("/me/deletion", status=204, errors=(404,))
async def cancel_deletion(call: Call) -> None:
    """Keep my account: cancel its scheduled deletion."""
    async with call.transaction() as session:
        await service.do_cancel_deletion(session, principal=call.require_user())


@api.post("/auth/deletion/undo", body=UndoEmailIn, response=Accepted, auth="none", errors=(422,))
async def undo_deletion(call: Call) -> Accepted:
    """The link in the "your account will be deleted" mail: keep the account."""
    async with call.transaction() as session:
        user = await service.do_undo_deletion_by_link(session, token=call.body.token)
    return Accepted(message=f"Your account {user.username} will not be deleted. Sign in again.")
