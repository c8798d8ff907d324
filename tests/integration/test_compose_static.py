"""docker-compose.yml without Docker: it parses, and its services, images, volumes and environment
agree with each other, with .env.example, with docker/Dockerfile and with what the Celery
integration test runs for real (pipeline.airflow.env.celery_env)."""

from __future__ import annotations

import re
from dataclasses import fields
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from pipeline.airflow.env import celery_env
from pipeline.config.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
# ${NAME}, ${NAME:-default}, ${NAME:?message}; "$${...}" is an escaped, container-side reference.
VAR_REF = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The parsed file (YAML anchors and merge keys resolved, as Compose does)."""
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def env_example() -> dict[str, str]:
    """NAME=value lines of .env.example."""
    out: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            out[name.strip()] = value
    return out


def substitute(value: str) -> str:
    """Interpolate ${...} from .env.example the way Compose would."""
    env = env_example()

    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        got = env.get(name)
        if got:
            return got
        if op and op.endswith("-"):
            return arg or ""
        raise AssertionError(f"{name} is required by docker-compose.yml but unset")

    return VAR_REF.sub(one, value)


def test_services_and_their_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == AIRFLOW_SERVICES | {"postgres", "redis", "mailpit", "newsmon-web"}
    images = {services[name]["image"] for name in AIRFLOW_SERVICES}
    assert len(images) == 1, images  # one image for every Airflow component
    for name in AIRFLOW_SERVICES:
        build = services[name]["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    # The image is the Airflow release this project is tested with.
    major_minor = ".".join(version("apache-airflow").split(".")[:2])
    base = re.search(r"AIRFLOW_IMAGE=apache/airflow:(\d+\.\d+)", DOCKERFILE.read_text())
    assert base and base.group(1) == major_minor
    assert major_minor in substitute(next(iter(images)))


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        if name == "airflow-init":
            assert svc["restart"] == "no"
            continue
        assert "healthcheck" in svc and svc["healthcheck"]["test"], name


def test_dependencies_exist_and_wait_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            wanted = (
                "service_completed_successfully" if dep == "airflow-init" else "service_healthy"
            )
            assert cond["condition"] == wanted, (name, dep)
            if wanted == "service_healthy":
                assert "healthcheck" in services[dep], dep
    # Workers need the execution API up before taking tasks.
    assert "airflow-apiserver" in services["airflow-worker"]["depends_on"]


def test_volumes_are_declared_and_used(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used: set[str] = set()
    for name, svc in compose["services"].items():
        for spec in svc.get("volumes", []):
            source = spec.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"
                used.add(source)
    assert used == declared
    # The task logs and newsmon's var dir are shared by every Airflow component.
    for name in AIRFLOW_SERVICES:
        mounts = {v.split(":")[0] for v in compose["services"][name]["volumes"]}
        assert {"newsmon-var", "airflow-logs"} <= mounts, name


def test_env_file_and_compose_agree() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    refs = {m.group(1): m.group(2) for m in VAR_REF.finditer(text)}
    example = env_example()
    required = {name for name, op in refs.items() if op and op.endswith("?")}
    assert not {name for name, op in refs.items() if not op}, "use ${X:-default} or ${X:?why}"
    assert required <= set(example), required - set(example)
    assert set(example) <= set(refs), set(example) - set(refs)  # nothing documented but unused


def airflow_env_of(compose: dict[str, Any], service: str) -> dict[str, str]:
    """A service's environment with .env.example substituted."""
    raw = compose["services"][service]["environment"]
    return {k: substitute(str(v)) for k, v in raw.items()}


def test_airflow_environment_matches_the_tested_celery_setup(compose: dict[str, Any]) -> None:
    services = compose["services"]
    tested = celery_env(
        {}, broker_url="redis://x", result_backend="db+postgresql://x", async_metadata_url=None
    )
    for name in AIRFLOW_SERVICES:
        env = airflow_env_of(compose, name)
        assert set(tested) <= set(env), name
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        # Hosts are service names; the execution API is the api-server's container port.
        api = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert api.hostname == "airflow-apiserver" and api.path == "/execution/"
        ports = services["airflow-apiserver"]["ports"]
        assert any(p.endswith(f":{api.port}") for p in ports)
        assert urlsplit(env["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
        for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "NEWSMON_DATABASE_URL"):
            assert urlsplit(env[key]).hostname == "postgres", key
        assert urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).path == "/airflow"
        assert urlsplit(env["NEWSMON_DATABASE_URL"]).path == "/newsmon"
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] in DOCKERFILE.read_text()
        assert "mailpit:1025" in env["AIRFLOW_CONN_SMTP_DEFAULT"]
        assert env["NEWSMON_MODE"] == "production"
    # The DB Airflow uses is the postgres service's POSTGRES_DB; newsmon's is made by the init SQL.
    pg = services["postgres"]
    assert pg["environment"]["POSTGRES_DB"] == "airflow"
    init = next(v.split(":")[0] for v in pg["volumes"] if v.startswith("./"))
    assert "CREATE DATABASE newsmon" in (ROOT / init).read_text()


def test_newsmon_settings_in_compose_are_known_settings(compose: dict[str, Any]) -> None:
    """A typo'd NEWSMON_* name stops newsmon at start; catch it here instead."""
    known = {f"NEWSMON_{f.name.upper()}" for f in fields(Settings)}
    env = airflow_env_of(compose, "airflow-worker")
    names = {k for k in env if k.startswith("NEWSMON_")}
    assert names and names <= known, names - known
    in_image = set(re.findall(r"\b(NEWSMON_[A-Z_]+)=", DOCKERFILE.read_text()))
    assert in_image and in_image <= known, in_image - known
