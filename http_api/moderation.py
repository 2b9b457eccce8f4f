"""Reports and the moderators' back office over HTTP: file a report; the queue, hiding and
restoring content, dismissing reports, suspending accounts (editors and admins); the audit
log (admins)."""

from __future__ import annotations

from starlette.responses import Response

from http_api.routing import Api, Call, JSONResponse
from http_api.social_common import actor_of, int_param, user_param
from models.core.pagination import Page
from models.moderation import service
from models.moderation.schemas import (
    AccountOut,
    AuditOut,
    AuditQuery,
    ModerationOut,
    QueueItem,
    QueueQuery,
    ReasonIn,
    ReportIn,
    ReportOut,
    UsersQuery,
    UserStateOut,
)
from models.moderation.tables import ReportKind

api = Api(tags=["moderation"])


@api.post("/reports", body=ReportIn, response=ReportOut, status=201, errors=(404, 422, 429))
async def report(call: Call) -> Response:
    """Report a comment, a private message (of one's own conversations) or a user to the
    moderators; reporting the same thing again answers the open report (200)."""
    async with call.transaction() as session:
        out, created = await service.do_report(
            call.ctx, session, actor=actor_of(call), data=call.body
        )
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@api.get("/moderation/reports", query=QueueQuery, response=Page[QueueItem], errors=(403,))
async def reports(call: Call) -> Page[QueueItem]:
    """The moderation queue (editors and admins): open reports oldest first with what they
    are about, or closed ones newest first."""
    async with call.ctx.sessions() as session:
        return await service.queue(session, actor=actor_of(call), query=call.query)


@api.post(
    "/moderation/reports/{report_id:int}/dismiss",
    body=ReasonIn,
    response=ReportOut,
    errors=(403, 404),
)
async def dismiss(call: Call) -> ReportOut:
    """Close a report with nothing done (editors and admins)."""
    async with call.transaction() as session:
        return await service.do_dismiss(
            session,
            actor=actor_of(call),
            report_id=int_param(call, "report_id"),
            reason=call.body.reason,
        )


def _content_route(kind: ReportKind, param: str, hidden: bool) -> None:
    verb = "hide" if hidden else "restore"
    plural = f"{kind.value}s"

    async def act(call: Call) -> ModerationOut:
        async with call.transaction() as session:
            return await service.do_set_hidden(
                session,
                call.outbox,
                actor=actor_of(call),
                kind=kind,
                target_id=int_param(call, param),
                hidden=hidden,
                reason=call.body.reason,
            )

    act.__name__ = f"{verb}_{kind.value}"
    act.__doc__ = f"{'Hide' if hidden else 'Restore'} a {kind.value} (editors and admins)" + (
        ": a comment shows as deleted, a message leaves both sides' history; the open "
        "reports on it close."
        if hidden
        else "."
    )
    api.post(
        f"/moderation/{plural}/{{{param}:int}}/{verb}",
        body=ReasonIn,
        response=ModerationOut,
        errors=(403, 404),
    )(act)


for _kind, _param in ((ReportKind.comment, "comment_id"), (ReportKind.message, "message_id")):
    for _hidden in (True, False):
        _content_route(_kind, _param, _hidden)


@api.get("/moderation/users", query=UsersQuery, response=Page[AccountOut], errors=(403,))
async def users(call: Call) -> Page[AccountOut]:
    """Accounts, newest first, by name start, role or suspension, with their open reports
    (editors and admins); roles change with PUT /users/{user_id}/role (admins)."""
    async with call.ctx.sessions() as session:
        return await service.accounts(session, actor=actor_of(call), query=call.query)


@api.post(
    "/moderation/users/{user_id}/suspend",
    body=ReasonIn,
    response=UserStateOut,
    errors=(403, 404, 422),
)
async def suspend(call: Call) -> UserStateOut:
    """Suspend an account (editors: users; admins: users and editors): it cannot sign in, its
    sessions end and its sockets close at once; the open reports on it close."""
    async with call.transaction() as session:
        return await service.do_set_suspended(
            call.ctx,
            session,
            call.outbox,
            actor=actor_of(call),
            user_id=user_param(call),
            suspended=True,
            reason=call.body.reason,
        )


@api.post(
    "/moderation/users/{user_id}/unsuspend",
    body=ReasonIn,
    response=UserStateOut,
    errors=(403, 404, 422),
)
async def unsuspend(call: Call) -> UserStateOut:
    """Lift a suspension: the account signs in again."""
    async with call.transaction() as session:
        return await service.do_set_suspended(
            call.ctx,
            session,
            call.outbox,
            actor=actor_of(call),
            user_id=user_param(call),
            suspended=False,
            reason=call.body.reason,
        )


@api.get("/moderation/audit", query=AuditQuery, response=Page[AuditOut], errors=(403,))
async def audit(call: Call) -> Page[AuditOut]:
    """What editors and admins did, newest first (admins)."""
    async with call.ctx.sessions() as session:
        return await service.audit_log(session, actor=actor_of(call), query=call.query)
