"""Who may do what in the social aggregate: pure functions of the actor and their relation.

Services load the facts (role, friendship, blocks, shares) and ask these; tests check the whole
actor x resource x action matrix against them and against the HTTP doors.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from models.accounts.tables import Role
from models.notifications.tables import NotificationType
from models.social.lists.tables import ShareRight, Visibility


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID | None
    role: Role = Role.user

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.editor, Role.admin)


@dataclass(frozen=True)
class Relation:
    """How the actor stands towards another user (a resource's owner, a message's peer)."""

    is_self: bool = False
    friends: bool = False
    # The other user blocked the actor.
    blocked_by_other: bool = False
    # The actor blocked the other user.
    blocks_other: bool = False

    @property
    def any_block(self) -> bool:
        return self.blocked_by_other or self.blocks_other


NOBODY = Relation()
SELF = Relation(is_self=True)


# Friendships and blocks -------------------------------------------------------------------


def can_request_friendship(actor: Actor, rel: Relation) -> bool:
    return actor.signed_in and not rel.is_self and not rel.friends and not rel.any_block


def can_block(actor: Actor, rel: Relation) -> bool:
    return actor.signed_in and not rel.is_self


# Private messages -------------------------------------------------------------------------


def can_message(actor: Actor, rel: Relation) -> bool:
    """Only friends, and a block either way stops messages (unfriending follows a block)."""
    return actor.signed_in and rel.friends and not rel.any_block and not rel.is_self


def can_see_presence(actor: Actor, rel: Relation) -> bool:
    return actor.signed_in and (rel.is_self or (rel.friends and not rel.any_block))


# Playlists --------------------------------------------------------------------------------


def can_view_playlist(
    actor: Actor, rel: Relation, visibility: Visibility, share: ShareRight | None
) -> bool:
    if rel.is_self or actor.is_admin:
        return True
    if visibility == Visibility.public:
        return True
    # A blocked user sees only the blocker's public lists, whatever was shared before.
    if not actor.signed_in or rel.blocked_by_other:
        return False
    if share is not None:
        return True
    return visibility == Visibility.friends and rel.friends


def can_edit_playlist_items(actor: Actor, rel: Relation, share: ShareRight | None) -> bool:
    if rel.is_self:
        return True
    return actor.signed_in and share == ShareRight.edit and not rel.blocked_by_other


def can_manage_playlist(actor: Actor, rel: Relation) -> bool:
    """Rename, change visibility, share: the owner only."""
    return rel.is_self


def can_delete_playlist(actor: Actor, rel: Relation) -> bool:
    return rel.is_self or actor.is_admin


def can_share_playlist_with(actor: Actor, rel_to_target: Relation) -> bool:
    """Sharing goes to friends only (the relation is the owner's towards the target)."""
    return rel_to_target.friends and not rel_to_target.any_block


# Comments and likes -----------------------------------------------------------------------


# Comment lists for a signed-in reader leave out what these users wrote. Comments are public
# (signed out, anyone reads them), so this spares the reader, it keeps no secret: the reader's
# own blocks hide; being blocked does not (a block stops replying to and liking the blocker,
# as it leaves the blocker's public playlists visible). The reviews service turns these two
# switches into its SQL, so the lists and this function cannot disagree.
HIDE_COMMENTS_BY_BLOCKED = True
HIDE_COMMENTS_BY_BLOCKERS = False


def lists_comments_of(actor: Actor, rel_to_author: Relation) -> bool:
    """Whether the actor's comment lists (comments, replies) show this author's comments, and
    whether the actor finds one by its id (otherwise 404, with its replies)."""
    if not actor.signed_in:
        return True
    return not (
        (HIDE_COMMENTS_BY_BLOCKED and rel_to_author.blocks_other)
        or (HIDE_COMMENTS_BY_BLOCKERS and rel_to_author.blocked_by_other)
    )


def can_comment(actor: Actor) -> bool:
    return actor.signed_in


def can_reply(actor: Actor, rel_to_parent_author: Relation, parent_deleted: bool) -> bool:
    return actor.signed_in and not parent_deleted and not rel_to_parent_author.blocked_by_other


def can_edit_comment(actor: Actor, rel_to_author: Relation, deleted: bool) -> bool:
    return rel_to_author.is_self and not deleted


def can_delete_comment(actor: Actor, rel_to_author: Relation) -> bool:
    return rel_to_author.is_self or actor.is_moderator


def can_like_comment(actor: Actor, rel_to_author: Relation, deleted: bool) -> bool:
    return (
        actor.signed_in
        and not deleted
        and not rel_to_author.is_self
        and not rel_to_author.blocked_by_other
    )


def can_rate(actor: Actor) -> bool:
    return actor.signed_in


# Notifications ----------------------------------------------------------------------------


# A notification tells its recipient of another user's act. It reaches them (inbox, unread
# count, live, push, email; counted and named in a group) only while a block does not stop
# that act between the two, decided when it is made and again whenever it is read or
# delivered: the recipient's own block always silences the user they blocked; being blocked
# silences the blocker too where a block either way stops the act (messages, friend requests,
# friendships and the party invites only friends send), but not a like, since a block stops
# the blocked user liking the blocker's comments and leaves the blocker free to like theirs.
# models/notifications/blocks.py turns this set into its SQL, so the inbox and this function
# cannot disagree.
NOTIFIES_DESPITE_BEING_BLOCKED: frozenset[NotificationType] = frozenset(
    {NotificationType.comment_liked}
)


def notifies_of(type_: NotificationType, rel_to_actor: Relation) -> bool:
    """Whether a notification of this type, caused by a user, reaches the recipient, given
    the recipient's relation towards that user."""
    if rel_to_actor.blocks_other:
        return False
    return not rel_to_actor.blocked_by_other or type_ in NOTIFIES_DESPITE_BEING_BLOCKED
