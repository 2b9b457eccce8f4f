"""The family controls' authorization matrix: who (actor) may do what (action) to which
resource, checked against the real HTTP API by test_family_matrix.py.

Actors are described relative to one household: "parent" owns it; "child" is the parent's
child account (maturity limit 12); "sibling" another child of the same parent; "other_child"
a child of another parent; "stranger" an adult with no children; "admin" an admin stranger.
Resources: "child_account" is the child's account as the parent manages it; "title_18" a
title rated 18 (above the child's limit) and "title_12" one rated 12 (within it), each as
every catalog read, recommendation, party and playback reaches it.
"""

from __future__ import annotations

ACTORS = ("anonymous", "stranger", "parent", "child", "sibling", "other_child", "admin")
EVERYONE = frozenset(ACTORS)
SIGNED_IN = EVERYONE - {"anonymous"}
ADULTS = frozenset({"stranger", "parent", "admin"})
CHILDREN = frozenset({"child", "sibling", "other_child"})

MATRIX: dict[tuple[str, str], frozenset[str]] = {
    # a parent's child accounts: only that parent manages them (an admin is no parent)
    ("child_account", "list"): frozenset({"parent"}),
    ("child_account", "reset_password"): frozenset({"parent"}),
    ("child_account", "history"): frozenset({"parent"}),
    ("child_account", "set_limit"): frozenset({"parent"}),
    ("household", "create_child"): ADULTS,  # any adult may start a household of their own
    ("household", "set_pin"): ADULTS,
    # a title above the children's limit: absent from every list, refused by id
    ("title_18", "browse"): EVERYONE - CHILDREN,
    ("title_18", "search"): EVERYONE - CHILDREN,
    ("title_18", "facets"): EVERYONE - CHILDREN,
    ("title_18", "detail"): EVERYONE - CHILDREN,
    ("title_18", "similar"): EVERYONE - CHILDREN,
    ("title_18", "recommended"): ADULTS,
    ("title_18", "collection"): EVERYONE - CHILDREN,
    ("title_18", "party_create"): ADULTS,
    ("title_18", "party_join"): ADULTS,
    ("title_18", "playback"): ADULTS,
    # a title within the limit: everyone as before
    ("title_12", "browse"): EVERYONE,
    ("title_12", "search"): EVERYONE,
    ("title_12", "facets"): EVERYONE,
    ("title_12", "detail"): EVERYONE,
    ("title_12", "similar"): EVERYONE,
    ("title_12", "recommended"): SIGNED_IN,
    ("title_12", "collection"): EVERYONE,
    ("title_12", "party_create"): SIGNED_IN,
    ("title_12", "party_join"): SIGNED_IN,
    ("title_12", "playback"): SIGNED_IN,
}
