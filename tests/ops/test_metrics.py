"""/metrics: who may scrape it, and what a scrape says after real traffic, parsed with the
Prometheus client's own parser."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pydantic import SecretStr
from sqlalchemy import text

from cinema.ports import free_port
from models.core import metrics
from models.core.context import Context
from models.core.settings import Settings
from tests.conftest import ROOT, LiveServer, worker_process
from tests.factories import PASSWORD, make_account, make_user
from tests.realtime_client import connected


def samples(text: str, name: str) -> list[Sample]:
    """Every sample of the family `name` (a counter's family drops its _total)."""
    out = [s for f in text_string_to_metric_families(text) if f.name == name for s in f.samples]
    assert out, f"no {name} in the scrape"
    return out


def value(text: str, name: str, sample: str | None = None, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    return sum(
        s.value
        for s in samples(text, name)
        if (sample is None or s.name == sample) and labels.items() <= s.labels.items()
    )


@pytest.fixture
async def outsider(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_requests_are_counted_by_route_template(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    acct = await make_account(ctx, client)
    for _ in range(3):
        r = await client.get(f"/api/v1/users/{acct.id}", headers=acct.headers)
        assert r.status_code == 200
    assert (await client.get("/api/v1/no/such/page")).status_code == 404
    r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    route = "/api/v1/users/{user_id}"
    requests = "cinema_http_requests"
    assert value(r.text, requests, route=route, method="GET", status="200") >= 3
    assert value(r.text, requests, route="unmatched", status="404") >= 1
    # No path of a user id (unbounded cardinality) becomes a label.
    assert not [s for s in samples(r.text, requests) if str(acct.id) in s.labels["route"]]
    durations = "cinema_http_request_duration_seconds"
    count = value(r.text, durations, f"{durations}_count", route=route, method="GET")
    assert count >= 3
    assert value(r.text, "cinema_redis_up") == 1
    assert value(r.text, "cinema_database_up") == 1
    assert value(r.text, "cinema_db_connections_open") >= 1


async def test_only_allowed_addresses_or_the_token_may_scrape(
    client: httpx.AsyncClient, outsider: httpx.AsyncClient, ctx: Context
) -> None:
    r = await outsider.get("/metrics")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    # A trusted proxy on loopback forwarding an outside client is the outside client.
    r = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 403
    before = ctx.settings
    ctx.settings = before.model_copy(update={"metrics_token": SecretStr("scrape-" + "t" * 30)})
    try:
        wrong = await outsider.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        right = await outsider.get(
            "/metrics", headers={"Authorization": "Bearer scrape-" + "t" * 30}
        )
        assert right.status_code == 200 and "cinema_http_requests_total" in right.text
        ctx.settings = before.model_copy(update={"metrics_enabled": False})
        assert (await client.get("/metrics")).status_code == 404
    finally:
        ctx.settings = before


@pytest.fixture
def metered(settings: Settings, tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    """`cinema serve --workers 2` and `cinema worker` sharing one metrics directory, on a
    queue of their own (the suite's in-process worker must not take their jobs)."""
    metrics_dir = tmp_path / "metrics"
    env = {"METRICS_DIR": str(metrics_dir), "REDIS_PREFIX": f"{settings.redis_prefix}-metrics"}
    server = LiveServer(settings, free_port(), env=env, args=["--workers", "2"])
    with worker_process(settings, "metrics-worker", **env):
        try:
            server.wait_ready()
            yield server, metrics_dir
        finally:
            server.stop()


@pytest.mark.slow
async def test_a_scrape_sums_every_process_after_real_traffic(
    ctx: Context, metered: tuple[LiveServer, Path]
) -> None:
    server, metrics_dir = metered
    user = await make_user(ctx)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        r = await http.post(
            "/api/v1/auth/token",
            data={"username": user.email, "password": PASSWORD, "grant_type": "password"},
        )
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        # New connections each time, so both worker processes get some.
        for _ in range(20):
            async with httpx.AsyncClient(base_url=server.url, timeout=20) as one:
                assert (await one.get("/api/v1/me", headers=auth)).status_code == 200
        # A job for the worker process: the password reset mail.
        r = await http.post("/api/v1/auth/password/forgot", json={"email": user.email})
        assert r.status_code == 202, r.text
        async with connected(server.url, token) as sock:
            assert (await sock.call("ping", {}))["ok"] is True
            assert (await sock.call("no:such", {}))["ok"] is False
            scrape = (await http.get("/metrics")).text
            assert value(scrape, "cinema_socket_connections") == 1
        assert value(scrape, "cinema_http_requests", route="/api/v1/me", status="200") == 20
        assert value(scrape, "cinema_socket_connects", outcome="ok") == 1
        assert value(scrape, "cinema_socket_events", event="ping", outcome="ok") == 1
        unknown = value(scrape, "cinema_socket_events", event="(unknown)", outcome="unknown_event")
        assert unknown == 1
        acks = "cinema_socket_ack_seconds"
        assert value(scrape, acks, f"{acks}_count", event="ping") == 1
        assert value(scrape, "cinema_jobs_enqueued") >= 1

        async def job_ran() -> str:
            while True:
                text = (await http.get("/metrics")).text
                if "cinema_job_runs_total{" in text:
                    return text
                await asyncio.sleep(0.2)

        scrape = await asyncio.wait_for(job_ran(), 60)
        runs = {
            (s.labels["function"], s.labels["outcome"]): s.value
            for s in samples(scrape, "cinema_job_runs")
            if s.value
        }
        assert all(outcome == "ok" for _, outcome in runs), runs
        jobs = "cinema_job_duration_seconds"
        assert value(scrape, jobs, f"{jobs}_count") >= 1
        assert value(scrape, "cinema_job_queue_depth") >= 0

        async def closed() -> None:  # the server sees the close a moment after the client
            while value((await http.get("/metrics")).text, "cinema_socket_connections"):
                await asyncio.sleep(0.1)

        await asyncio.wait_for(closed(), 10)
    # Two web processes wrote samples beside the worker's.
    pids = {p.stem.rsplit("_", 1)[1] for p in metrics_dir.glob("*.db")}
    assert len(pids) >= 3, pids


async def test_the_dashboard_reads_only_metrics_we_export(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    """docs/grafana-dashboard.json: every series a panel queries is one /metrics has."""
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    wanted = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bcinema_\w+", target["expr"])
    }
    acct = await make_account(ctx, client)
    await client.get(f"/api/v1/users/{acct.id}", headers=acct.headers)
    async with ctx.sessions() as session:
        await session.execute(text("SELECT 1"))
    declared = {
        sample
        for metric in vars(metrics).values()
        if isinstance(metric, MetricWrapperBase)
        for sample in _series(metric)
    }
    scraped = {
        s.name
        for f in text_string_to_metric_families((await client.get("/metrics")).text)
        for s in f.samples
    }
    # Read at scrape time (models/core/metrics.py, _snapshot), with no sample when idle.
    snapshot = set(re.findall(r'GaugeMetricFamily\(\s*"(cinema_\w+)"', inspect.getsource(metrics)))
    missing = wanted - declared - scraped - snapshot
    assert not missing, missing


def _series(metric: MetricWrapperBase) -> set[str]:
    name = str(metric._name)
    kind = str(metric._type)
    if kind == "counter":
        return {f"{name}_total"}
    if kind == "histogram":
        return {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return {name}
