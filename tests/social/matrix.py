"""The authorization matrix: who (actor) may do what (action) to which resource.

One table, checked twice: against the pure policy functions and against the HTTP API with real
users, friendships, blocks and shares. Every actor is described relative to the resource's
owner: "blocked" is a user the owner has blocked; "editor" and "admin" are strangers to the
owner with those roles.
"""

from __future__ import annotations

ACTORS = ("anonymous", "stranger", "friend", "blocked", "owner", "editor", "admin")
EVERYONE = frozenset(ACTORS)
SIGNED_IN = EVERYONE - {"anonymous"}

# (resource, action) -> the actors allowed
MATRIX: dict[tuple[str, str], frozenset[str]] = {
    # playlists by visibility; "shared" is a private playlist shared with the friend (edit)
    ("playlist_private", "view"): frozenset({"owner", "admin"}),
    ("playlist_private", "edit_items"): frozenset({"owner"}),
    ("playlist_private", "manage"): frozenset({"owner"}),
    ("playlist_private", "delete"): frozenset({"owner", "admin"}),
    ("playlist_friends", "view"): frozenset({"owner", "friend", "admin"}),
    ("playlist_friends", "edit_items"): frozenset({"owner"}),
    ("playlist_friends", "manage"): frozenset({"owner"}),
    ("playlist_friends", "delete"): frozenset({"owner", "admin"}),
    ("playlist_public", "view"): EVERYONE,
    ("playlist_public", "edit_items"): frozenset({"owner"}),
    ("playlist_public", "manage"): frozenset({"owner"}),
    ("playlist_public", "delete"): frozenset({"owner", "admin"}),
    ("playlist_shared", "view"): frozenset({"owner", "friend", "admin"}),
    ("playlist_shared", "edit_items"): frozenset({"owner", "friend"}),
    ("playlist_shared", "manage"): frozenset({"owner"}),
    ("playlist_shared", "delete"): frozenset({"owner", "admin"}),
    # private messages and friend requests addressed to the owner
    ("owner_inbox", "send_message"): frozenset({"friend"}),
    ("owner_inbox", "send_typing"): frozenset({"friend"}),
    ("owner_person", "friend_request"): frozenset({"stranger", "editor", "admin"}),
    ("owner_person", "block"): SIGNED_IN - {"owner"},
    ("owner_presence", "see"): frozenset({"owner", "friend"}),
    # a comment written by the owner
    ("owner_comment", "edit"): frozenset({"owner"}),
    ("owner_comment", "delete"): frozenset({"owner", "editor", "admin"}),
    ("owner_comment", "like"): frozenset({"stranger", "friend", "editor", "admin"}),
    ("owner_comment", "reply"): SIGNED_IN - {"blocked"},
    # listed with the title's comments: the owner's block hides the blocked user's comments
    # from the owner, never the owner's (public) comments from the blocked user
    ("owner_comment", "list"): EVERYONE,
    # the owner's favorites and rating
    ("owner_favorites", "list"): frozenset({"owner"}),
    # moderation (models/moderation): reports, the back office, the audit log
    ("owner_comment", "report"): SIGNED_IN - {"owner"},
    ("owner_comment", "hide"): frozenset({"editor", "admin"}),
    ("owner_message", "report"): frozenset({"friend"}),  # the owner's message to the friend
    ("owner_message", "hide"): frozenset({"editor", "admin"}),
    ("owner_person", "report"): SIGNED_IN - {"owner"},
    ("owner_person", "suspend"): frozenset({"editor", "admin"}),  # the owner is a user
    ("moderation_queue", "view"): frozenset({"editor", "admin"}),
    ("audit_log", "view"): frozenset({"admin"}),
    ("title", "rate"): SIGNED_IN,
    ("title", "comment"): SIGNED_IN,
}
