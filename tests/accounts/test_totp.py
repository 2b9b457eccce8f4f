"""Two-factor sign-in with an authenticator app (RFC 6238), recovery codes and remembered
devices, through the HTTP API against real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pyotp
from sqlalchemy import select

from models.accounts.tables import RecoveryCode, TotpFactor
from models.core.context import Context
from models.core.db import transaction
from tests.factories import PASSWORD, Account, make_account, random_ip
from tests.mail import Mailbox

STEP = 30


# When each secret's enrolment was confirmed: the code of that step is spent, whatever the
# clock says by the time a test replays it (a step may end in between).
_CONFIRMED_AT: dict[str, int] = {}


def _code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(int(time.time()) + steps_ahead * STEP)


async def _password_step(
    client: httpx.AsyncClient, account: Account, *, ip: str, device_token: str | None = None
) -> httpx.Response:
    data = {"username": account.user.email, "password": PASSWORD}
    if device_token:
        data["device_token"] = device_token
    return await client.post("/api/v1/auth/token", data=data, headers={"X-Forwarded-For": ip})


async def _enrol(client: httpx.AsyncClient, account: Account) -> tuple[str, list[str]]:
    started = await client.post(
        "/api/v1/me/2fa/totp", json={"current_password": PASSWORD}, headers=account.headers
    )
    assert started.status_code == 201, started.text
    body = started.json()
    uri = urlsplit(body["otpauth_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    query = parse_qs(uri.query)
    assert query["secret"] == [body["secret"]] and query["issuer"] == ["Cinema"]
    assert unquote(uri.path) == f"/Cinema:{account.user.email}"
    assert body["qr_svg"].startswith("<svg") and body["qr_data_uri"].startswith("data:image/svg")
    secret = body["secret"]
    _CONFIRMED_AT[secret] = int(time.time())
    confirmed = await client.post(
        "/api/v1/me/2fa/totp/confirm",
        json={"code": pyotp.TOTP(secret).at(_CONFIRMED_AT[secret])},
        headers=account.headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    return secret, codes


async def _mfa(client: httpx.AsyncClient, ip: str, **body: Any) -> httpx.Response:
    return await client.post("/api/v1/auth/mfa", json=body, headers={"X-Forwarded-For": ip})


async def test_enrol_sign_in_with_code_and_replay_refused(
    client: httpx.AsyncClient, ctx: Context, mailbox: Mailbox
) -> None:
    account = await make_account(ctx, client)
    # Enrolment does nothing at sign-in until a code confirms it.
    started = await client.post(
        "/api/v1/me/2fa/totp", json={"current_password": PASSWORD}, headers=account.headers
    )
    assert started.status_code == 201
    ip = random_ip()
    assert (await _password_step(client, account, ip=ip)).status_code == 200
    wrong_password = await client.post(
        "/api/v1/me/2fa/totp", json={"current_password": "nope-nope"}, headers=account.headers
    )
    assert wrong_password.status_code == 403

    secret, codes = await _enrol(client, account)
    assert len(codes) == 10 and len(set(codes)) == 10
    await mailbox.wait_for(account.user.email, subject="Two-factor sign-in is on")
    again = await client.post(
        "/api/v1/me/2fa/totp", json={"current_password": PASSWORD}, headers=account.headers
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "totp_enabled"

    # The password alone is no longer a session: a short-lived mfa token instead.
    first = await _password_step(client, account, ip=ip)
    assert first.status_code == 403, first.text
    error = first.json()["error"]
    assert error["code"] == "mfa_required"
    assert error["details"]["methods"] == ["totp", "recovery_code"]
    assert error["details"]["expires_in"] == 300
    mfa_token = error["details"]["mfa_token"]
    # It is not an access token.
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {mfa_token}"})
    assert me.status_code == 401

    # The code of the enrolment step was spent; the next step's is taken once.
    spent_code = pyotp.TOTP(secret).at(_CONFIRMED_AT[secret])
    replayed = await _mfa(client, ip, mfa_token=mfa_token, code=spent_code)
    assert replayed.status_code == 403 and replayed.json()["error"]["code"] == "invalid_code"
    next_code = _code(secret, 1)
    ok = await _mfa(client, ip, mfa_token=mfa_token, code=next_code)
    assert ok.status_code == 200, ok.text
    tokens = ok.json()
    assert tokens["device_token"] is None
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    # The pending token made one session only.
    spent = await _mfa(client, ip, mfa_token=mfa_token, code=next_code)
    assert spent.status_code == 401 and spent.json()["error"]["code"] == "mfa_token_invalid"
    # The same code on a fresh sign-in is a replay too.
    second = (await _password_step(client, account, ip=ip)).json()["error"]["details"]
    replay = await _mfa(client, ip, mfa_token=second["mfa_token"], code=next_code)
    assert replay.status_code == 403

    # The secret is stored sealed, not as the base32 an app holds.
    async with transaction(ctx.sessions) as session:
        factor = await session.get(TotpFactor, account.id)
        assert factor is not None and secret.encode() not in factor.secret_enc


async def test_wrong_codes_void_the_step_and_are_rate_limited(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    account = await make_account(ctx, client)
    secret, _ = await _enrol(client, account)
    ip = random_ip()
    token = (await _password_step(client, account, ip=ip)).json()["error"]["details"]["mfa_token"]
    for _ in range(5):
        r = await _mfa(client, ip, mfa_token=token, code="000000")
        assert r.status_code == 403
    # Five wrong codes void the step: even the right one is refused now.
    r = await _mfa(client, ip, mfa_token=token, code=_code(secret, 1))
    assert r.status_code == 401 and r.json()["error"]["code"] == "mfa_token_invalid"
    # Per account and client: ten code attempts per 15 minutes (the voided one not counted).
    token = (await _password_step(client, account, ip=ip)).json()["error"]["details"]["mfa_token"]
    statuses = [
        (await _mfa(client, ip, mfa_token=token, code="000000")).status_code for _ in range(5)
    ]
    assert statuses == [403] * 5
    token = (await _password_step(client, account, ip=ip)).json()["error"]["details"]["mfa_token"]
    limited = await _mfa(client, ip, mfa_token=token, code=_code(secret, 1))
    assert limited.status_code == 429 and limited.headers["retry-after"]
    # From another address the owner still gets in (the per-account cap is 30 an hour).
    other_ip = random_ip()
    token = (await _password_step(client, account, ip=other_ip)).json()["error"]["details"]
    ok = await _mfa(client, other_ip, mfa_token=token["mfa_token"], code=_code(secret, 1))
    assert ok.status_code == 200, ok.text
    # Malformed input is 422, never a crash.
    bad = await _mfa(client, ip, mfa_token=token, code="12ab56")
    assert bad.status_code == 422
    both = await _mfa(client, ip, mfa_token=token, code="123456", recovery_code="ABCDE-FGHJK")
    assert both.status_code == 422


async def test_recovery_codes_are_one_time_and_hashed(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    account = await make_account(ctx, client)
    secret, codes = await _enrol(client, account)
    ip = random_ip()
    token = (await _password_step(client, account, ip=ip)).json()["error"]["details"]["mfa_token"]
    # Typed in lower case and without the dash, it still counts.
    typed = codes[0].lower().replace("-", "")
    ok = await _mfa(client, ip, mfa_token=token, recovery_code=typed)
    assert ok.status_code == 200, ok.text
    token = (await _password_step(client, account, ip=ip)).json()["error"]["details"]["mfa_token"]
    used = await _mfa(client, ip, mfa_token=token, recovery_code=codes[0])
    assert used.status_code == 403
    status = await client.get("/api/v1/me/2fa", headers=account.headers)
    assert status.json()["recovery_codes_left"] == 9
    async with transaction(ctx.sessions) as session:
        stored = (
            await session.scalars(
                select(RecoveryCode.code_hash).where(RecoveryCode.user_id == account.id)
            )
        ).all()
    assert len(stored) == 10 and not any(c.replace("-", "") in h for c in codes for h in stored)

    # New codes need the password and a code; the old ones stop working.
    fresh = await client.post(
        "/api/v1/me/2fa/recovery-codes",
        json={"current_password": PASSWORD, "code": _code(secret, 1)},
        headers=account.headers,
    )
    assert fresh.status_code == 200, fresh.text
    new_codes = fresh.json()["recovery_codes"]
    token = (await _password_step(client, account, ip=ip)).json()["error"]["details"]["mfa_token"]
    assert (await _mfa(client, ip, mfa_token=token, recovery_code=codes[1])).status_code == 403
    assert (await _mfa(client, ip, mfa_token=token, recovery_code=new_codes[1])).status_code == 200


async def test_remember_this_device(client: httpx.AsyncClient, ctx: Context) -> None:
    account = await make_account(ctx, client)
    secret, _ = await _enrol(client, account)
    ip = random_ip()
    token = (await _password_step(client, account, ip=ip)).json()["error"]["details"]["mfa_token"]
    ok = await _mfa(client, ip, mfa_token=token, code=_code(secret, 1), remember_device=True)
    device = ok.json()["device_token"]
    assert ok.status_code == 200 and device
    # The password alone signs in on this device now, not with a made-up token.
    remembered = await _password_step(client, account, ip=ip, device_token=device)
    assert remembered.status_code == 200, remembered.text
    made_up = await _password_step(client, account, ip=ip, device_token="x" * 43)
    assert made_up.status_code == 403
    # Another account's device token does not carry over.
    other = await make_account(ctx, client)
    await _enrol(client, other)
    foreign = await _password_step(client, other, ip=ip, device_token=device)
    assert foreign.status_code == 403
    # Forgetting every device asks again.
    assert (await client.get("/api/v1/me/2fa", headers=account.headers)).json()[
        "remembered_devices"
    ] == 1
    forgot = await client.delete("/api/v1/me/2fa/remembered-devices", headers=account.headers)
    assert forgot.status_code == 204
    again = await _password_step(client, account, ip=ip, device_token=device)
    assert again.status_code == 403


async def test_disable_needs_password_and_code(
    client: httpx.AsyncClient, ctx: Context, mailbox: Mailbox
) -> None:
    account = await make_account(ctx, client)
    secret, codes = await _enrol(client, account)
    url = "/api/v1/me/2fa/totp/disable"
    no_code = await client.post(url, json={"current_password": PASSWORD}, headers=account.headers)
    assert no_code.status_code == 422
    wrong_pw = await client.post(
        url,
        json={"current_password": "wrong-one", "code": _code(secret, 1)},
        headers=account.headers,
    )
    assert wrong_pw.status_code == 403 and wrong_pw.json()["error"]["code"] == "invalid_credentials"
    wrong_code = await client.post(
        url, json={"current_password": PASSWORD, "code": "000000"}, headers=account.headers
    )
    assert wrong_code.status_code == 403 and wrong_code.json()["error"]["code"] == "invalid_code"
    ok = await client.post(
        url, json={"current_password": PASSWORD, "recovery_code": codes[3]}, headers=account.headers
    )
    assert ok.status_code == 204, ok.text
    status = (await client.get("/api/v1/me/2fa", headers=account.headers)).json()
    assert status == {
        "totp_enabled": False,
        "passkeys": 0,
        "recovery_codes_left": 0,
        "remembered_devices": 0,
        "methods": [],
    }
    assert (await _password_step(client, account, ip=random_ip())).status_code == 200
    again = await client.post(
        url, json={"current_password": PASSWORD, "code": "123456"}, headers=account.headers
    )
    assert again.status_code == 404


async def test_one_code_raced_on_two_sign_ins_opens_one_session(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    """Two sign-ins (say, an attacker who watched the code being typed, and the owner)
    present the same code at once: the conditional update lets exactly one through."""
    account = await make_account(ctx, client)
    secret, _ = await _enrol(client, account)
    ips = [random_ip(), random_ip()]
    tokens = [
        (await _password_step(client, account, ip=ip)).json()["error"]["details"]["mfa_token"]
        for ip in ips
    ]
    code = _code(secret, 1)
    answers = await asyncio.gather(
        *(_mfa(client, ip, mfa_token=t, code=code) for ip, t in zip(ips, tokens, strict=True))
    )
    assert sorted(a.status_code for a in answers) == [200, 403], [a.text for a in answers]
