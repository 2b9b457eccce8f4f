"""The pure policy functions against the authorization matrix."""

from __future__ import annotations

import uuid

import pytest

from models.accounts.tables import Role
from models.moderation import policy as moderation
from models.notifications.tables import NotificationType
from models.social import policy
from models.social.lists.tables import ShareRight, Visibility
from models.social.policy import Actor, Relation
from tests.social.matrix import ACTORS, MATRIX

OWNER = uuid.uuid4()


def _actor(name: str) -> tuple[Actor, Relation]:
    role = {"editor": Role.editor, "admin": Role.admin}.get(name, Role.user)
    user_id = None if name == "anonymous" else (OWNER if name == "owner" else uuid.uuid4())
    rel = {
        "anonymous": policy.NOBODY,
        "owner": policy.SELF,
        "friend": Relation(friends=True),
        "blocked": Relation(blocked_by_other=True),
    }.get(name, Relation())
    return Actor(user_id, role), rel


def _allowed(resource: str, action: str, actor: Actor, rel: Relation, name: str) -> bool:
    if (resource, action) in _MODERATION:
        return _MODERATION[(resource, action)](actor, rel, name)
    if resource.startswith("playlist_"):
        kind = resource.removeprefix("playlist_")
        vis = {"shared": Visibility.private}.get(kind) or Visibility(kind)
        share = ShareRight.edit if kind == "shared" and name == "friend" else None
        return {
            "view": lambda: policy.can_view_playlist(actor, rel, vis, share),
            "edit_items": lambda: (
                policy.can_view_playlist(actor, rel, vis, share)
                and policy.can_edit_playlist_items(actor, rel, share)
            ),
            "manage": lambda: policy.can_manage_playlist(actor, rel),
            "delete": lambda: policy.can_delete_playlist(actor, rel),
        }[action]()
    if resource == "owner_inbox":
        return policy.can_message(actor, rel)
    if resource == "owner_person":
        if action == "block":
            return policy.can_block(actor, rel)
        return policy.can_request_friendship(actor, rel)
    if resource == "owner_presence":
        return policy.can_see_presence(actor, rel)
    if resource == "owner_comment":
        return {
            "edit": lambda: policy.can_edit_comment(actor, rel, False),
            "delete": lambda: actor.signed_in and policy.can_delete_comment(actor, rel),
            "like": lambda: policy.can_like_comment(actor, rel, False),
            "reply": lambda: policy.can_reply(actor, rel, False),
            "list": lambda: policy.lists_comments_of(actor, rel),
        }[action]()
    if resource == "owner_favorites":
        return rel.is_self
    if resource == "title":
        return policy.can_rate(actor) if action == "rate" else policy.can_comment(actor)
    raise AssertionError(resource)


_MODERATION = {
    ("owner_comment", "report"): lambda a, r, n: moderation.can_report(a, own=r.is_self),
    ("owner_comment", "hide"): lambda a, r, n: moderation.can_moderate(a),
    ("owner_message", "report"): lambda a, r, n: moderation.can_report_message(
        a, is_sender=r.is_self, is_recipient=n == "friend"
    ),
    ("owner_message", "hide"): lambda a, r, n: moderation.can_moderate(a),
    ("owner_person", "report"): lambda a, r, n: moderation.can_report(a, own=r.is_self),
    ("owner_person", "suspend"): lambda a, r, n: moderation.can_suspend(
        a, target_role=Role.user, is_self=r.is_self
    ),
    ("moderation_queue", "view"): lambda a, r, n: moderation.can_moderate(a),
    ("audit_log", "view"): lambda a, r, n: moderation.can_read_audit(a),
}


def test_suspending_needs_a_higher_role() -> None:
    editor, admin = Actor(uuid.uuid4(), Role.editor), Actor(uuid.uuid4(), Role.admin)
    assert moderation.can_suspend(admin, target_role=Role.editor, is_self=False)
    assert not moderation.can_suspend(editor, target_role=Role.editor, is_self=False)
    assert not moderation.can_suspend(editor, target_role=Role.admin, is_self=False)
    assert not moderation.can_suspend(admin, target_role=Role.admin, is_self=False)
    assert not moderation.can_suspend(admin, target_role=Role.user, is_self=True)


@pytest.mark.parametrize("key", sorted(MATRIX))
def test_matrix(key: tuple[str, str]) -> None:
    resource, action = key
    got = {name for name in ACTORS if _allowed(resource, action, *_actor(name), name)}
    assert got == set(MATRIX[key])


def test_deleted_comment_cannot_be_edited_liked_or_replied() -> None:
    owner = Actor(OWNER)
    other = Actor(uuid.uuid4())
    assert not policy.can_edit_comment(owner, policy.SELF, True)
    assert not policy.can_like_comment(other, Relation(), True)
    assert not policy.can_reply(other, Relation(), True)


def test_blocking_either_way_stops_messages_and_requests() -> None:
    a = Actor(uuid.uuid4())
    for rel in (Relation(friends=True, blocks_other=True), Relation(blocks_other=True)):
        assert not policy.can_message(a, rel)
        assert not policy.can_request_friendship(a, rel)


def test_comment_lists_hide_whom_the_reader_blocked() -> None:
    reader = Actor(uuid.uuid4())
    assert not policy.lists_comments_of(reader, Relation(blocks_other=True))
    assert not policy.lists_comments_of(reader, Relation(blocks_other=True, blocked_by_other=True))
    assert policy.lists_comments_of(reader, Relation(blocked_by_other=True))
    assert policy.lists_comments_of(reader, Relation(friends=True))
    assert policy.lists_comments_of(reader, policy.SELF)
    assert policy.lists_comments_of(Actor(None), policy.NOBODY)


def test_notifications_follow_the_block_rules_of_the_act_they_tell_of() -> None:
    someone = Actor(uuid.uuid4())
    for type_ in NotificationType:
        assert policy.notifies_of(type_, Relation())
        assert policy.notifies_of(type_, Relation(friends=True))
        # Whom I blocked I never hear of.
        assert not policy.notifies_of(type_, Relation(blocks_other=True))
        assert not policy.notifies_of(type_, Relation(blocks_other=True, blocked_by_other=True))
    # Someone who blocked me is heard of exactly where the block leaves them free to act.
    they_blocked_me = Relation(blocks_other=True)  # theirs, towards me
    acts = {
        NotificationType.comment_liked: policy.can_like_comment(someone, they_blocked_me, False),
        NotificationType.friend_request: policy.can_request_friendship(someone, they_blocked_me),
        NotificationType.message_while_away: policy.can_message(
            someone, Relation(friends=True, blocks_other=True)
        ),
    }
    for type_, allowed in acts.items():
        assert policy.notifies_of(type_, Relation(blocked_by_other=True)) is allowed, type_
