"""docker-compose.yml checked without a Docker engine: schema, pins, and agreement with the code's settings."""

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from common.naming import model_name
from facade.config import Settings
from facade.keystore import sqlite_path
from tests.deploy.facade_settings import is_setting
from tests.deploy.k8s import container, get
from tests.facade.test_layering import grpc_path_packages

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
FLAGS = dict(
    line.removeprefix("--").split("=", 1)
    for line in (ROOT / "serving_config" / "tfserving.flags").read_text().splitlines()
    if line.startswith("--")
)


def mounts(service: str) -> dict[str, str]:
    """Container path -> source for a service's volumes."""
    out = {}
    for spec in SERVICES[service].get("volumes", []):
        source, target, *_ = spec.split(":")
        out[target] = source
    return out


SCALE_FACADES = ("facade-1", "facade-2")


def _default(value: str) -> str:
    """A compose value with each ``${VAR:-default}`` resolved to its default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_docker_compose_config_validates() -> None:
    """The Compose implementation itself (Debian's docker-compose) accepts the file."""
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose is not installed (.ci/run installs Debian's package)")
    env = {**os.environ, "FACADE_ADMIN_TOKEN": "x" * 32}
    out = subprocess.run([exe, "config"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    resolved = yaml.safe_load(out.stdout)
    assert resolved["services"]["tfserving"]["image"] == "tensorflow/serving:2.21.0"


def test_missing_admin_token_stops_compose_with_a_clear_message() -> None:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose is not installed")
    env = {k: v for k, v in os.environ.items() if k != "FACADE_ADMIN_TOKEN"}
    out = subprocess.run([exe, "config"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "set FACADE_ADMIN_TOKEN in .env" in out.stderr


def test_build_contexts_and_dockerfiles_exist() -> None:
    for name, service in SERVICES.items():
        build = service.get("build")
        if build:
            assert (ROOT / build["context"]).is_dir(), name
            assert (ROOT / build["context"] / build["dockerfile"]).is_file(), name


def test_images_are_pinned() -> None:
    for name, service in SERVICES.items():
        image = service.get("image", "")
        image = re.sub(r"\$\{[A-Z_]+:-([^}]+)\}", r"\1", image)  # the default a variable falls back to
        assert ":" in image and not image.endswith(":latest"), (name, image)
        # PostgreSQL numbers its releases major.minor (15.10 is a full version); the others major.minor.patch.
        pattern = r"postgres:\d+\.\d+$" if image.startswith("postgres:") else r":v?\d+\.\d+\.\d+$"
        assert re.search(pattern, image), (name, image)
    for dockerfile in (ROOT / "docker").glob("*.Dockerfile"):
        for line in dockerfile.read_text().splitlines():
            if line.startswith("FROM "):
                base = line.split()[1]
                assert re.search(r":\d+\.\d+\.\d+-", base), (dockerfile.name, base)


def test_every_long_running_service_has_a_health_check() -> None:
    for name in ("tfserving", "facade"):
        test = SERVICES[name]["healthcheck"]["test"]
        assert test[0] == "CMD" and len(test) > 1
    assert "AVAILABLE" in (ROOT / "serving_config" / "healthcheck.sh").read_text()


def test_tfserving_mounts_match_the_configs() -> None:
    m = mounts("tfserving")
    assert m["/config"] == "./serving_config"
    for flag in ("model_config_file", "batching_parameters_file", "monitoring_config_file"):
        path = Path(FLAGS[flag])
        assert path.parent == Path("/config") and (ROOT / "serving_config" / path.name).is_file()
    assert FLAGS["model_config_file"] in " ".join(SERVICES["tfserving"]["healthcheck"]["test"])
    config = text_format.Parse(
        (ROOT / "serving_config" / "models.config").read_text(), model_server_config_pb2.ModelServerConfig()
    )
    models_mount = next(t for t, s in m.items() if s == "models")
    for entry in config.model_config_list.config:
        assert entry.base_path == f"{models_mount}/{entry.name}"
    ports = {p.rsplit(":", 2)[1] for p in SERVICES["tfserving"]["ports"]}
    assert {FLAGS["port"], FLAGS["rest_api_port"]} <= ports


def test_tfserving_ports_are_published_on_loopback_unless_opened_on_purpose() -> None:
    """TF Serving has no authentication: an open port would bypass the facade's keys."""
    for spec in SERVICES["tfserving"]["ports"]:
        host, _, _ = spec.rsplit(":", 2)
        assert host == "${TFSERVING_BIND:-127.0.0.1}", spec
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose is not installed (.ci/run installs Debian's package)")
    for bind, expected in ((None, "127.0.0.1"), ("0.0.0.0", "0.0.0.0")):
        env = {k: v for k, v in os.environ.items() if k != "TFSERVING_BIND"} | {"FACADE_ADMIN_TOKEN": "x" * 32}
        if bind:
            env["TFSERVING_BIND"] = bind
        out = subprocess.run([exe, "config"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        published = yaml.safe_load(out.stdout)["services"]["tfserving"]["ports"]
        hosts = {p["host_ip"] if isinstance(p, dict) else str(p).rsplit(":", 2)[0] for p in published}
        assert hosts == {expected}, published


def test_trainer_seeds_every_model_tf_serving_expects() -> None:
    command = SERVICES["trainer"]["command"]
    tickers = command[command.index("--tickers") + 1 :]
    config = text_format.Parse(
        (ROOT / "serving_config" / "models.config").read_text(), model_server_config_pb2.ModelServerConfig()
    )
    assert {model_name(t) for t in tickers} == {c.name for c in config.model_config_list.config}
    assert command[command.index("--models-dir") + 1] in mounts("trainer")
    assert SERVICES["tfserving"]["depends_on"]["trainer"]["condition"] == "service_completed_successfully"


def test_facade_environment_matches_its_settings() -> None:
    env: dict[str, str] = SERVICES["facade"]["environment"]
    fields = set(Settings.model_fields)
    for key in env:
        assert key.startswith("FACADE_") and key.removeprefix("FACADE_").lower() in fields, key
    host, port = env["FACADE_TFSERVING_ADDRESS"].split(":")
    assert host == "tfserving" and port == FLAGS["port"]
    assert env["FACADE_BACKEND"] == "tfserving" and env["FACADE_ENVIRONMENT"] == "production"
    assert SERVICES["facade"]["ports"] == [f"{env['FACADE_PORT']}:{env['FACADE_PORT']}"]
    m = mounts("facade")
    # No model folder: the models come from TF Serving's own models.config, everything else over gRPC.
    assert "models" not in m.values() and "FACADE_MODELS_DIR" not in env
    config = Path(env["FACADE_MODEL_CONFIG_FILE"])
    assert m[str(config.parent)] == "./serving_config" and (ROOT / "serving_config" / config.name).is_file()
    assert mounts("tfserving")[str(config.parent)] == "./serving_config"
    assert m[str(sqlite_path(env["FACADE_KEYS_URL"]).parent)] == "keys"
    assert SERVICES["facade"]["depends_on"]["tfserving"]["condition"] == "service_healthy"
    dockerfile = (ROOT / "docker" / "facade.Dockerfile").read_text()
    assert f"EXPOSE {env['FACADE_PORT']}" in dockerfile


def test_locust_runs_on_demand_against_the_stack() -> None:
    locust = SERVICES["locust"]
    assert locust["profiles"] == ["loadtest"]
    assert (ROOT / locust["command"][locust["command"].index("-f") + 1]).is_file()
    assert locust["environment"]["LOADTEST_GRPC_TARGET"] == f"tfserving:{FLAGS['port']}"
    # The locustfile reads data/ beside its package: the image's sources must come first on sys.path.
    trainer = (ROOT / "docker" / "trainer.Dockerfile").read_text()
    assert "PYTHONPATH=/app" in trainer and "COPY data ./data" in trainer and "WORKDIR /app" in trainer


def test_env_example_names_every_variable_compose_reads() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    documented = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line}
    assert used <= documented


def _extras_installed_by(dockerfile: Path) -> set[str]:
    found = re.findall(r'pip install[^\n]*"\.\[([a-z,]+)\]"', dockerfile.read_text())
    assert found, f"{dockerfile.name} installs no extras of the project"
    return {extra for group in found for extra in group.split(",")}


def test_facade_image_installs_no_tensorflow() -> None:
    extras = _extras_installed_by(ROOT / "docker" / "facade.Dockerfile")
    assert extras == {"facade"}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + [d for e in extras for d in project["optional-dependencies"][e]]
    names = {re.split(r"[\[<>=! ]", d)[0].lower() for d in deps}
    assert not names & {"tensorflow", "tensorflow-cpu", "keras", "scikit-learn", "pandas", "tensorflow-serving-api"}


def test_facade_image_copies_only_what_the_grpc_path_imports() -> None:
    copied = set(re.findall(r"^COPY (\w+) ", (ROOT / "docker" / "facade.Dockerfile").read_text(), re.M))
    assert copied - {"pyproject", "constraints"} == grpc_path_packages() == {"common", "facade"}


# Values the deployment sets on purpose; every other FACADE_* value shipped must be the code's default.
DEPLOYMENT_CHOICES = {
    "FACADE_ADMIN_TOKEN",
    "FACADE_ENVIRONMENT",
    "FACADE_BACKEND",
    "FACADE_TFSERVING_ADDRESS",
    "FACADE_MODELS_DIR",
    "FACADE_KEYS_URL",
    "FACADE_HOST",
    "FACADE_WORKERS",
    # The scale profile's shared state and its models without a model folder.
    "FACADE_RATE_LIMIT_STORAGE",
    "FACADE_MODEL_CONFIG_FILE",
}


def _shipped_facade_values() -> list[tuple[str, str, str]]:
    """(where, variable, value) of each FACADE_* value in compose (${VAR:-x} defaults resolved) and .env.example."""
    out = []
    for service in ("facade", *SCALE_FACADES):
        for key, value in SERVICES[service]["environment"].items():
            if key.startswith("FACADE_"):
                out.append((f"docker-compose.yml {service}", key, _default(str(value))))
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("FACADE_") and "=" in line:
            key, value = line.split("=", 1)
            out.append((".env.example", key, value))
    return out


@pytest.mark.parametrize(("where", "key", "value"), _shipped_facade_values(), ids=lambda v: str(v))
def test_shipped_configuration_agrees_with_the_code_defaults(where: str, key: str, value: str) -> None:
    assert is_setting(key), f"{where}: {key} is not a facade setting"
    if key in DEPLOYMENT_CHOICES:
        return
    field = key.removeprefix("FACADE_").lower()
    default = Settings.model_fields[field].default
    parsed = type(default)(value) if default is not None else value
    assert parsed == default, f"{where} ships {key}={value}, the code's default is {default!r}"


# --- The scale profile: the multi-replica setup on one host -------------------------------------------


def test_scale_profile_holds_the_shared_stores_and_two_facades() -> None:
    scale = {name for name, s in SERVICES.items() if "scale" in s.get("profiles", [])}
    assert scale == {"postgres", "redis", *SCALE_FACADES}
    for name in scale:
        assert SERVICES[name]["profiles"] == ["scale"], name
        assert SERVICES[name]["healthcheck"]["test"][0] == "CMD", name
    # The second replica is the first one with another host port, nothing else.
    one, two = (SERVICES[n] for n in SCALE_FACADES)
    assert {k: v for k, v in one.items() if k != "ports"} == {k: v for k, v in two.items() if k != "ports"}


def test_scale_facades_read_no_model_folder_and_share_keys_and_quotas() -> None:
    env: dict[str, str] = SERVICES["facade-1"]["environment"]
    for key in env:
        assert is_setting(key) or key == "PROMETHEUS_MULTIPROC_DIR", key
    assert env["FACADE_BACKEND"] == "tfserving" and env["FACADE_ENVIRONMENT"] == "production"
    assert env["FACADE_TFSERVING_ADDRESS"] == f"dns:///tfserving:{FLAGS['port']}"
    m = mounts("facade-1")
    assert "FACADE_MODELS_DIR" not in env and "models" not in m.values()
    # The file TF Serving reads, at the same path.
    assert env["FACADE_MODEL_CONFIG_FILE"] == FLAGS["model_config_file"]
    assert m[str(Path(env["FACADE_MODEL_CONFIG_FILE"]).parent)] == mounts("tfserving")["/config"]
    postgres: dict[str, str] = SERVICES["postgres"]["environment"]
    keys = urlsplit(_default(env["FACADE_KEYS_URL"]))
    assert (keys.scheme, keys.hostname, keys.port) == ("postgresql", "postgres", 5432)
    assert keys.username == postgres["POSTGRES_USER"] and keys.path == f"/{postgres['POSTGRES_DB']}"
    assert keys.password == _default(postgres["POSTGRES_PASSWORD"]), "the URL carries the server's password"
    assert "${POSTGRES_PASSWORD" in env["FACADE_KEYS_URL"], "one variable sets both"
    quotas = urlsplit(env["FACADE_RATE_LIMIT_STORAGE"])
    assert (quotas.scheme, quotas.hostname, quotas.port) == ("redis", "redis", 6379)
    for dependency in ("tfserving", "postgres", "redis"):
        assert SERVICES["facade-1"]["depends_on"][dependency]["condition"] == "service_healthy"
    # The same knobs as the single-host facade.
    for key in ("FACADE_ADMIN_TOKEN", "FACADE_WORKERS", "FACADE_FORECAST_MODE", "FACADE_RATE_LIMIT_PER_KEY"):
        assert env[key] == SERVICES["facade"]["environment"][key], key


def test_scale_facades_run_on_a_read_only_root_with_metrics_in_tmpfs() -> None:
    facade = SERVICES["facade-1"]
    assert facade["read_only"] is True and facade["tmpfs"] == ["/tmp"]
    assert facade["environment"]["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    assert all(v.endswith(":ro") for v in facade["volumes"])


def test_scale_profile_publishes_only_the_facades_and_only_on_loopback() -> None:
    assert "ports" not in SERVICES["postgres"] and "ports" not in SERVICES["redis"]
    published = [SERVICES[n]["ports"] for n in SCALE_FACADES]
    assert published == [["127.0.0.1:8001:8000"], ["127.0.0.1:8002:8000"]]
    assert all(p[0].endswith(f":{SERVICES['facade-1']['environment']['FACADE_PORT']}") for p in published)


def test_scale_profile_validates_with_docker_compose() -> None:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose is not installed (.ci/run installs Debian's package)")
    env = {k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"} | {"FACADE_ADMIN_TOKEN": "x" * 32}
    out = subprocess.run(
        [exe, "--profile", "scale", "config"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    resolved = yaml.safe_load(out.stdout)["services"]
    for name in SCALE_FACADES:
        assert resolved[name]["read_only"] is True
        assert resolved[name]["environment"]["FACADE_KEYS_URL"].startswith("postgresql://stockcast:")
    assert resolved["facade-2"]["ports"] != resolved["facade-1"]["ports"]


def test_dev_overlay_runs_the_stores_compose_runs() -> None:
    """One PostgreSQL and one Redis version for both single-host and cluster development setups."""
    assert container(get("dev", "StatefulSet", "postgres"), "postgres")["image"] == SERVICES["postgres"]["image"]
    assert container(get("dev", "Deployment", "redis"), "redis")["image"] == SERVICES["redis"]["image"]
