"""Sign-in on a TV (OAuth 2.0 Device Authorization Grant, RFC 8628): the OAuth endpoints,
which answer errors in OAuth's shape, their metadata, and the routes the web app calls when a
signed-in user enters a TV's code."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from http_api.routing import Api, Call
from models.accounts import device_grant
from models.accounts.schemas import (
    DeviceAuthorizationOut,
    DeviceCodeIn,
    DeviceDecisionIn,
    DeviceDecisionOut,
    DeviceRequestOut,
    OAuthMetadataOut,
    TokenOut,
)

api = Api(tags=["oauth"])
well_known = Api(tags=["oauth"], prefix="")


class DeviceAuthorizationForm(BaseModel):
    """RFC 8628 §3.1; `device_name` (ours) is what the approving user sees, else client_id.
    Values are checked by the service, so every refusal is an OAuth error."""

    model_config = ConfigDict(extra="ignore")
    client_id: str | None = None
    scope: str | None = None
    device_name: str | None = None


class TokenRequestForm(BaseModel):
    """RFC 8628 §3.4 (device_code) and RFC 6749 §6 (refresh_token)."""

    model_config = ConfigDict(extra="ignore")
    grant_type: str | None = None
    device_code: str | None = None
    client_id: str | None = None
    refresh_token: str | None = None


@well_known.get("/.well-known/oauth-authorization-server", response=OAuthMetadataOut, auth="none")
async def oauth_metadata(call: Call) -> OAuthMetadataOut:
    """OAuth authorization server metadata (RFC 8414)."""
    return device_grant.metadata(call.ctx)


@api.post(
    "/oauth/device_authorization",
    form=DeviceAuthorizationForm,
    response=DeviceAuthorizationOut,
    auth="none",
    errors=(401, 429),
    oauth=True,
)
async def device_authorization(call: Call) -> DeviceAuthorizationOut:
    """A TV asks for a code to show (RFC 8628 §3.1); errors in OAuth's shape."""
    return await device_grant.do_device_authorization(
        call.ctx, client_id=call.body.client_id, device_name=call.body.device_name, ip=call.ip
    )


@api.post(
    "/oauth/token", form=TokenRequestForm, response=TokenOut, auth="none", errors=(401,), oauth=True
)
async def oauth_token(call: Call) -> TokenOut:
    """OAuth token endpoint: the device code grant and refresh tokens.

    Errors in OAuth's shape (RFC 6749 §5.2): 400 `authorization_pending` (poll again after
    `interval`), `slow_down` (and wait 5 s more from now on), `access_denied`,
    `expired_token`, `invalid_grant`, `unsupported_grant_type`, `invalid_request`.
    """
    async with call.transaction() as session:
        return await device_grant.do_token(
            call.ctx,
            session,
            grant_type=call.body.grant_type,
            device_code=call.body.device_code,
            client_id=call.body.client_id,
            refresh_token=call.body.refresh_token,
            ip=call.ip,
            user_agent=call.user_agent,
        )


@api.post("/auth/device/lookup", body=DeviceCodeIn, response=DeviceRequestOut, errors=(404, 429))
async def device_lookup(call: Call) -> DeviceRequestOut:
    """Which device shows this code, before I approve it (counts towards the guessing limit)."""
    return await device_grant.access_device_request(
        call.ctx, principal=call.require_user(), user_code=call.body.user_code, ip=call.ip
    )


@api.post(
    "/auth/device/approve", body=DeviceDecisionIn, response=DeviceDecisionOut, errors=(404, 429)
)
async def device_approve(call: Call) -> DeviceDecisionOut:
    """Approve (the TV signs in as me) or deny the device showing this code."""
    return await device_grant.do_decide_device(
        call.ctx,
        principal=call.require_user(),
        user_code=call.body.user_code,
        decision=call.body.decision,
        ip=call.ip,
    )
