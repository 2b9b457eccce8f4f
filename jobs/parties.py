"""Watch-party upkeep that goes on with no web process alive (arq cron)."""

from __future__ import annotations

from jobs.backoff import done
from jobs.registry import JobContext, app, cron
from models.core.jobs import Job
from models.parties import reconcile, service


async def reconcile_parties(ctx: JobContext) -> dict[str, int]:
    """Disconnect members whose sockets all died with their process, then apply due party
    deadlines (grace periods, waiting timeouts); the deployment's first pass also indexes the
    parties written before the connected index (once). The web processes do the same every few
    seconds; this covers the time when none is running."""
    c = app(ctx)
    counts = {
        "disconnected": await reconcile.do_reconcile(c) if await reconcile.take_turn(c) else 0,
        "deadlines": await service.do_sweep(c),
    }
    done(Job.reconcile_parties, **counts)
    return counts


# Twice a minute; a missed run is simply the next one (each run is idempotent).
cron(reconcile_parties, second={0, 30}, max_tries=1)
