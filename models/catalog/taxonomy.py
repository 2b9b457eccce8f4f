"""The standard genre list and the names other sources give the same genres.

The list is TMDB's 19 movie genres (seeded by migration catalog_0003). Sources name them
differently ("Sci-Fi", "Science-Fiction", "Kids", "Musical", "Action & Adventure"): a name
is looked up by its slug, then as a synonym, then singular ("Comedies"). What is still
unknown is reported, or created with `--create-genres`.
"""

from __future__ import annotations

from slugify import slugify as _slugify

STANDARD_GENRES = (
    "Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family",
    "Fantasy", "History", "Horror", "Music", "Mystery", "Romance", "Science Fiction",
    "TV Movie", "Thriller", "War", "Western",
)  # fmt: skip

# slug of a name as sources write it -> slug of the standard genre.
SYNONYMS: dict[str, str] = {
    "sci-fi": "science-fiction",
    "scifi": "science-fiction",
    "sf": "science-fiction",
    "science-fiction-fantasy": "science-fiction",
    "sci-fi-fantasy": "science-fiction",
    "action-adventure": "action",
    "war-politics": "war",
    "musical": "music",
    "musicals": "music",
    "kids": "family",
    "children": "family",
    "childrens": "family",
    "animated": "animation",
    "anime": "animation",
    "cartoon": "animation",
    "cartoons": "animation",
    "doc": "documentary",
    "docs": "documentary",
    "documentaries": "documentary",
    "suspense": "thriller",
    "romantic": "romance",
    "historical": "history",
    "period": "history",
    "tv-film": "tv-movie",
    "made-for-tv": "tv-movie",
    "made-for-tv-movie": "tv-movie",
    "spaghetti-western": "western",
}


def slugify(name: str) -> str:
    """URL slug of a display name, transliterated ("Science Fiction" -> "science-fiction",
    "Боевик" -> "boevik"); a name with no letters or digits at all gets "x"."""
    return _slugify(name, max_length=64, word_boundary=True) or "x"


def genre_slug(name: str, known: set[str] | dict[str, int]) -> str | None:
    """The slug of the known genre this name means, if any."""
    slug = slugify(name)
    for candidate in (slug, SYNONYMS.get(slug), slug[:-1] if slug.endswith("s") else None):
        if candidate and candidate in known:
            return candidate
    if slug.endswith("ies") and slug[:-3] + "y" in known:  # "comedies"
        return slug[:-3] + "y"
    return None
