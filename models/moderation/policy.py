"""Who may report, moderate and read the audit log: pure functions of the actor's role (and,
for accounts, the target's role). The social matrix (tests/social/matrix.py) checks them."""

from __future__ import annotations

from models.accounts.tables import Role
from models.social.policy import Actor


def can_report(actor: Actor, *, own: bool) -> bool:
    """Anyone signed in reports what someone else wrote (or someone else)."""
    return actor.signed_in and not own


def can_report_message(actor: Actor, *, is_sender: bool, is_recipient: bool) -> bool:
    """A private message is reported by whom it was sent to; nobody else has seen it."""
    return actor.signed_in and is_recipient and not is_sender


def can_moderate(actor: Actor) -> bool:
    """The queue, hiding and restoring content, dismissing reports: editors and admins."""
    return actor.is_moderator


def can_suspend(actor: Actor, *, target_role: Role, is_self: bool) -> bool:
    """A moderator suspends accounts of a lower role than theirs: editors suspend users,
    admins users and editors; nobody suspends themselves or an admin."""
    return (
        can_moderate(actor)
        and not is_self
        and actor.role.at_least(target_role)
        and (actor.role != target_role)
    )


def can_read_audit(actor: Actor) -> bool:
    return actor.is_admin
