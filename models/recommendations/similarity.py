"""Title-to-title similarity, recomputed by a scheduled job (`compute_similar_titles`,
hourly) into `title_similarity`: for each title its SIMILAR best matches.

Candidates come from three places, so every title gets some and none costs a scan of all
pairs:
- the audience: titles the same users liked (ratings of 7 or more, likes, favorites,
  finished or started viewings; each user's latest POSITIVES_PER_USER), scored by cosine
  with shrinkage, co / sqrt(n_i n_j) * co / (co + SHRINK), from AUDIENCE_MIN users on;
- the people: titles sharing a director, writer or lead (the first PEOPLE_POSITIONS
  credits), leaving out people with more than PEOPLE_MAX_TITLES titles (a prolific
  extra says little), each shared person weighing 1 / log2(1 + their titles);
- the shelf: the most popular titles of each of its genres in its decade (BUCKET of
  each), so a title nobody watched and nobody known made still has neighbours.
Each candidate is then scored on content too: genres and tags (Jaccard, on 64-bit masks),
people,
era (years apart) and a little popularity, and the score is AUDIENCE_WEIGHT of the audience
part plus the rest of the content part. The whole table is replaced in one transaction, so
readers see the old or the new table, never half of one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

SIMILAR = 30
POSITIVES_PER_USER = 200
AUDIENCE_MIN = 2
SHRINK = 5.0
PEOPLE_POSITIONS = 4
PEOPLE_MAX_TITLES = 60
BUCKET = 12
AUDIENCE_WEIGHT = 0.6


def _jaccard(column: str) -> str:
    """Shared / all of two sets held as 64-bit masks (ids modulo 63: exact for genres, a
    close estimate for tags)."""
    both = f"bit_count(CAST(fa.{column} & fb.{column} AS bit(64)))"
    either = f"bit_count(CAST(fa.{column} | fb.{column} AS bit(64)))"
    return f"coalesce(CAST({both} AS float) / nullif({either}, 0), 0)"


# What counts as liking a title, and how much: one row per (user, title), the strongest.
POSITIVES = """
    SELECT user_id, title_id, max(w) AS w, max(at) AS at FROM (
        SELECT user_id, title_id, (score - 5) / 5.0 AS w, updated_at AS at
        FROM ratings WHERE score >= 7
        UNION ALL SELECT user_id, title_id, 1.0, created_at FROM title_likes
        UNION ALL SELECT user_id, title_id, 1.0, created_at FROM favorites
        UNION ALL SELECT user_id, title_id, CASE WHEN completed THEN 0.8 ELSE 0.3 END,
                         updated_at
        FROM viewing_progress WHERE completed OR position_ms > 0
    ) AS p GROUP BY user_id, title_id
"""

_STEPS = (
    f"""
    CREATE TEMP TABLE sim_pos ON COMMIT DROP AS
    SELECT user_id, title_id FROM (
        SELECT user_id, title_id,
               row_number() OVER (PARTITION BY user_id ORDER BY at DESC, title_id) AS n
        FROM ({POSITIVES}) AS p
    ) AS ranked WHERE n <= {POSITIVES_PER_USER}
    """,
    "CREATE INDEX ON sim_pos (user_id)",
    """
    CREATE TEMP TABLE sim_fans ON COMMIT DROP AS
    SELECT title_id, count(*) AS n FROM sim_pos GROUP BY title_id
    """,
    f"""
    CREATE TEMP TABLE sim_audience ON COMMIT DROP AS
    SELECT a.title_id AS a, b.title_id AS b, count(*) AS co
    FROM sim_pos a JOIN sim_pos b ON b.user_id = a.user_id AND b.title_id <> a.title_id
    GROUP BY a.title_id, b.title_id HAVING count(*) >= {AUDIENCE_MIN}
    """,
    """
    CREATE TEMP TABLE sim_feat ON COMMIT DROP AS
    SELECT t.id, t.year, t.popularity,
           coalesce((SELECT bit_or(CAST(1 AS bigint) << CAST(genre_id % 63 AS integer))
                     FROM title_genres g WHERE g.title_id = t.id), 0) AS genres,
           coalesce((SELECT bit_or(CAST(1 AS bigint) << CAST(tag_id % 63 AS integer))
                     FROM title_tags x WHERE x.title_id = t.id), 0) AS tags
    FROM titles t
    """,
    "CREATE UNIQUE INDEX ON sim_feat (id)",
    f"""
    CREATE TEMP TABLE sim_people ON COMMIT DROP AS
    WITH principal AS (
        SELECT DISTINCT title_id, person_id FROM credits WHERE position < {PEOPLE_POSITIONS}
    ), weight AS (
        SELECT person_id, 1.0 / log(2, 1 + count(*)) AS w FROM principal
        GROUP BY person_id HAVING count(*) BETWEEN 2 AND {PEOPLE_MAX_TITLES}
    )
    SELECT a.title_id AS a, b.title_id AS b, sum(w.w) AS people
    FROM principal a JOIN weight w USING (person_id)
    JOIN principal b ON b.person_id = a.person_id AND b.title_id <> a.title_id
    GROUP BY a.title_id, b.title_id
    """,
    f"""
    CREATE TEMP TABLE sim_shelf ON COMMIT DROP AS
    WITH shelf AS (
        SELECT g.title_id AS id, g.genre_id, coalesce(f.year / 10, -1) AS decade,
               row_number() OVER (PARTITION BY g.genre_id, coalesce(f.year / 10, -1)
                                  ORDER BY f.popularity DESC, g.title_id) AS n
        FROM title_genres g JOIN sim_feat f ON f.id = g.title_id
    )
    SELECT DISTINCT a.id AS a, b.id AS b FROM shelf a
    JOIN shelf b ON b.genre_id = a.genre_id AND b.decade = a.decade
        AND b.n <= {BUCKET} AND b.id <> a.id
    """,
    f"""
    CREATE TEMP TABLE sim_scored ON COMMIT DROP AS
    WITH pairs AS (
        SELECT a, b, max(audience) AS audience, max(people) AS people FROM (
            SELECT x.a, x.b,
                   x.co / sqrt(fa.n * fb.n) * x.co / (x.co + {SHRINK}) AS audience,
                   0.0 AS people
            FROM sim_audience x JOIN sim_fans fa ON fa.title_id = x.a
            JOIN sim_fans fb ON fb.title_id = x.b
            UNION ALL SELECT a, b, 0.0, people FROM sim_people
            UNION ALL SELECT a, b, 0.0, 0.0 FROM sim_shelf
        ) AS c GROUP BY a, b
    )
    SELECT p.a, p.b, p.audience,
        {AUDIENCE_WEIGHT} * p.audience + {1 - AUDIENCE_WEIGHT} * (
            0.45 * {_jaccard("genres")}
          + 0.1 * {_jaccard("tags")}
          + 0.25 * least(1.0, p.people)
          + 0.15 * CASE WHEN fa.year IS NULL OR fb.year IS NULL THEN 0.5
                        ELSE greatest(0.0, 1 - abs(fa.year - fb.year) / 30.0) END
          + 0.05 * least(1.0, ln(1 + fb.popularity) / 10)
        ) AS score
    FROM pairs p JOIN sim_feat fa ON fa.id = p.a JOIN sim_feat fb ON fb.id = p.b
    """,
    "DELETE FROM title_similarity",
    f"""
    INSERT INTO title_similarity (title_id, rank, similar_id, score, audience, computed_at)
    SELECT a, n - 1, b, score, audience, now() FROM (
        SELECT a, b, score, audience,
               row_number() OVER (PARTITION BY a ORDER BY score DESC, b) AS n
        FROM sim_scored
    ) AS ranked WHERE n <= {SIMILAR}
    """,
)


@dataclass(frozen=True)
class SimilarityReport:
    titles: int
    pairs: int
    audience_pairs: int
    seconds: float


async def _compute(conn: AsyncConnection) -> SimilarityReport:
    started = time.monotonic()
    # One run at a time: a second one waits, then recomputes from fresher data.
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('compute_similar_titles'))"))
    for step in _STEPS:
        await conn.execute(text(step))
    titles, pairs = (
        await conn.execute(text("SELECT count(DISTINCT title_id), count(*) FROM title_similarity"))
    ).one()
    audience = (await conn.execute(text("SELECT count(*) FROM sim_audience"))).scalar_one()
    return SimilarityReport(
        titles=titles,
        pairs=pairs,
        audience_pairs=audience,
        seconds=round(time.monotonic() - started, 2),
    )


async def compute_similar_titles(engine: AsyncEngine) -> SimilarityReport:
    """Replace the whole similarity table in one transaction."""
    async with engine.begin() as conn:
        return await _compute(conn)
