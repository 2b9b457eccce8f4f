from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from models.accounts.tables import Role
from models.core.schema_rules import exactly_one_of, patch_schema
from models.core.text import UserLine, UserText

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")


def _check_username(v: str) -> str:
    if not USERNAME_RE.match(v):
        raise ValueError("username may contain only letters, digits, '_', '.' and '-'")
    return v


Username = Annotated[
    str, StringConstraints(min_length=3, max_length=32), AfterValidator(_check_username)
]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class RegisterIn(Input):
    email: EmailStr = Field(max_length=254)
    username: Username
    password: str = Field(min_length=1, max_length=1024)


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class RefreshIn(Input):
    refresh_token: str = Field(max_length=4096)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    username: str
    display_name: str | None
    role: Role
    email_confirmed: bool
    # An email change waiting for its confirmation link to be opened (see PATCH /me).
    pending_email: str | None = None
    # A child account's limit (family controls): the oldest age rating it sees.
    maturity_limit: int | None = None
    created_at: datetime
    # The account is to be erased then (POST /me/deletion); DELETE /me/deletion keeps it.
    deletion_scheduled_at: datetime | None = None


class PublicUserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str | None


class MeUpdate(Input):
    model_config = ConfigDict(json_schema_extra=patch_schema("username", "email"))
    display_name: UserLine | None = Field(default=None, max_length=64)
    username: Username | None = None
    # A new email is pending until confirmed from its mailbox, and needs current_password.
    email: EmailStr | None = None
    current_password: str | None = Field(default=None, max_length=1024)


class PasswordChangeIn(Input):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class RecoveryIn(Input):
    email: EmailStr


class ResetIn(Input):
    token: str = Field(min_length=10, max_length=200)
    new_password: str = Field(max_length=1024)


class ConfirmIn(Input):
    token: str = Field(min_length=10, max_length=200)


class UndoEmailIn(Input):
    token: str = Field(min_length=10, max_length=200)


class SessionOut(BaseModel):
    id: str
    created_at: datetime
    last_seen_at: datetime
    user_agent: str
    ip: str
    current: bool


class RoleIn(Input):
    role: Role
    reason: UserText | None = Field(
        default=None, max_length=1000, description="Why, for the audit log"
    )


class Accepted(BaseModel):
    ok: bool = True
    message: str


class DeviceAuthorizationOut(BaseModel):
    """RFC 8628 §3.2: what a TV shows its user and how it polls."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


UserCode = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class DeviceCodeIn(Input):
    user_code: UserCode


class DeviceDecisionIn(Input):
    user_code: UserCode
    decision: Literal["approve", "deny"]


class DeviceRequestOut(BaseModel):
    """A device waiting for a user code: shown before the user approves it."""

    user_code: str
    client_id: str
    device_name: str
    expires_at: datetime


class DeviceDecisionOut(BaseModel):
    status: Literal["approved", "denied"]
    device: DeviceRequestOut


class OAuthMetadataOut(BaseModel):
    """RFC 8414 authorization server metadata."""

    issuer: str
    token_endpoint: str
    device_authorization_endpoint: str
    grant_types_supported: list[str]
    response_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    service_documentation: str


# --- two-factor sign-in ---------------------------------------------------------------------

TotpCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
RecoveryCodeIn = Annotated[str, StringConstraints(min_length=10, max_length=16)]


class PasswordIn(Input):
    current_password: str = Field(min_length=1, max_length=1024)


class TotpEnrolmentOut(BaseModel):
    """Scan `qr_svg` (or type `secret`) into an authenticator app, then confirm a code."""

    secret: str
    otpauth_uri: str
    qr_svg: str  # an SVG document of the otpauth URI's QR code
    qr_data_uri: str  # the same as a data: URI, for an <img src>


class TotpConfirmIn(Input):
    code: TotpCode


class RecoveryCodesOut(BaseModel):
    """Shown this once: each works one time when the authenticator is not at hand."""

    recovery_codes: list[str]


class CodeProofIn(Input):
    """A sensitive 2FA change: the password and a current code (or a recovery code)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=exactly_one_of("code", "recovery_code")
    )
    current_password: str = Field(min_length=1, max_length=1024)
    code: TotpCode | None = None
    recovery_code: RecoveryCodeIn | None = None

    @model_validator(mode="after")
    def _one_factor(self) -> CodeProofIn:
        _exactly_one(self.code, self.recovery_code)
        return self


def _exactly_one(*given: object) -> None:
    if sum(v is not None for v in given) != 1:
        raise ValueError("give exactly one factor")


class MfaStatusOut(BaseModel):
    totp_enabled: bool
    passkeys: int
    recovery_codes_left: int
    remembered_devices: int
    # What sign-in asks after the password (empty: nothing).
    methods: list[Literal["totp", "passkey", "recovery_code"]]


class MfaIn(Input):
    """The second step of a sign-in: the `mfa_token` of the 403 `mfa_required` answer and
    exactly one factor. `passkey` is the PublicKeyCredential JSON (`credential.toJSON()`) of
    navigator.credentials.get() called with the options of POST /auth/mfa/passkey-options."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=exactly_one_of("code", "recovery_code", "passkey")
    )
    mfa_token: str = Field(min_length=10, max_length=100)
    code: TotpCode | None = None
    recovery_code: RecoveryCodeIn | None = None
    passkey: dict[str, Any] | None = None
    remember_device: bool = False

    @model_validator(mode="after")
    def _one_factor(self) -> MfaIn:
        _exactly_one(self.code, self.recovery_code, self.passkey)
        return self


class MfaTokenIn(Input):
    mfa_token: str = Field(min_length=10, max_length=100)


class SignedInOut(TokenOut):
    # Given when `remember_device` was asked: send it as `device_token` with the password
    # next time and the second factor is not asked on this device (MFA_REMEMBER_DEVICE_S).
    device_token: str | None = None


# --- passkeys -------------------------------------------------------------------------------

PasskeyName = Annotated[UserLine, StringConstraints(min_length=1, max_length=64)]


class PasskeyOptionsOut(BaseModel):
    """Give `options` to navigator.credentials.create() (registration) or .get() (sign-in),
    e.g. through PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON,
    and send back the `ceremony_id` with the credential's JSON. Valid 5 minutes, once."""

    ceremony_id: str
    options: dict[str, Any]


class PasskeyRegisterIn(Input):
    ceremony_id: str = Field(min_length=10, max_length=64)
    credential: dict[str, Any]  # the PublicKeyCredential's toJSON()
    name: PasskeyName | None = None


class PasskeySignInIn(Input):
    ceremony_id: str = Field(min_length=10, max_length=64)
    credential: dict[str, Any]


class PasskeyRenameIn(Input):
    name: PasskeyName


class PasskeyOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    backed_up: bool  # synced by its provider (iCloud Keychain, Google Password Manager...)
    transports: list[str]


class PasskeyCreatedOut(BaseModel):
    passkey: PasskeyOut
    # When this passkey is the account's first second factor: recovery codes, shown once.
    recovery_codes: list[str]


# ---- family controls ----

Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")]
MaturityLimit = Annotated[int, Field(ge=0, le=21, description="the oldest age rating allowed")]


class FamilyPinIn(Input):
    """Set or change the PIN that guards children's limits (needs my password)."""

    pin: Pin
    current_password: str = Field(min_length=1, max_length=1024)


class ChildIn(Input):
    # Username's rule, said as a pattern so the schema carries it (generated clients read it).
    username: str = Field(pattern=USERNAME_RE.pattern)
    password: str = Field(min_length=1, max_length=1024)
    display_name: UserLine | None = Field(default=None, max_length=64)
    maturity_limit: MaturityLimit
    pin: Pin


class ChildOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str | None
    maturity_limit: int | None
    created_at: datetime


class ChildPasswordIn(Input):
    new_password: str = Field(min_length=1, max_length=1024)


class MaturityLimitIn(Input):
    maturity_limit: MaturityLimit
    pin: Pin
