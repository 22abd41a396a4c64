"""deploy/k8s agrees with the code and serving_config/: ports, flags, probes, paths, settings, as compose does."""

import os
import re
import stat
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from common.naming import model_name
from facade.routes.health import router as health_router
from tests.deploy.facade_settings import is_setting
from tests.deploy.k8s import (
    OVERLAYS,
    ROOT,
    SERVING_CONFIG,
    Object,
    config_map,
    config_map_names,
    container,
    env,
    expand,
    get,
    mounts,
    pod_spec,
    tfserving_flags,
)

FLAGS = tfserving_flags()
MODELS_CONFIG = text_format.Parse(
    (SERVING_CONFIG / "models.config").read_text(), model_server_config_pb2.ModelServerConfig()
)
MONITORING_PATH = re.search(r'path:\s*"([^"]+)"', (SERVING_CONFIG / "monitoring.config").read_text())
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def tfserving(overlay: str) -> tuple[Object, Object]:
    deployment = get(overlay, "Deployment", "tfserving")
    return deployment, container(deployment, "tfserving")


def facade(overlay: str) -> tuple[Object, Object]:
    deployment = get(overlay, "Deployment", "facade")
    return deployment, container(deployment, "facade")


def _dockerfile_user(name: str) -> int:
    users = re.findall(r"^USER (\d+)", (ROOT / "docker" / name).read_text(), re.M)
    return int(users[-1])


# --- TF Serving -------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_tfserving_ports_are_the_flags_ports(overlay: str) -> None:
    _, c = tfserving(overlay)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"grpc": int(FLAGS["port"]), "http": int(FLAGS["rest_api_port"])}
    service = get(overlay, "Service", "tfserving-headless")["spec"]
    assert service["clusterIP"] == "None", "headless: clients balance across the pods themselves"
    assert {p["targetPort"]: p["port"] for p in service["ports"]} == ports


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_tfserving_config_maps_are_the_serving_config_files(overlay: str) -> None:
    deployment, c = tfserving(overlay)
    config = mounts(deployment, c)["/config"]
    names = config_map_names(config)
    files: dict[str, str] = {}
    for name in names:
        cm = next(
            config_map(overlay, generated)
            for generated in ("tfserving-config", "tfserving-models")
            if name.startswith(generated)
        )
        assert not set(files) & set(cm["data"])
        files |= cm["data"]
    for name, text in files.items():
        assert text == (SERVING_CONFIG / name).read_text(), f"{name} differs from serving_config/{name}"
    # Every file the flags name lies in that folder, under the name the flag gives.
    for flag in ("model_config_file", "batching_parameters_file", "monitoring_config_file"):
        path = Path(FLAGS[flag])
        assert path.parent == Path("/config") and path.name in files, flag
    assert {"tfserving.flags", "healthcheck.sh"} <= set(files)
    # models.config is the one TF Serving re-reads: its ConfigMap keeps its name, so edits apply in place.
    assert any(n == "tfserving-models" for n in names)


def _fake_server(tmp_path: Path) -> Path:
    """A ``tensorflow_model_server`` that prints the arguments it was started with, one per line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "tensorflow_model_server"
    fake.write_text('#!/bin/bash\nprintf "%s\\n" "$@"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def test_tfserving_starts_with_the_flags_file_plus_the_cluster_flags(tmp_path: Path) -> None:
    """The container's command, run as the kubelet would (after its $(VAR) expansion) on a stand-in binary."""
    _, c = tfserving("prod")
    command = [expand(part, {}) for part in c["command"]]
    assert command[:2] == ["/bin/bash", "-c"]
    config = tmp_path / "config"
    config.mkdir()
    (config / "tfserving.flags").write_text((SERVING_CONFIG / "tfserving.flags").read_text())
    script = command[2].replace("/config/", f"{config}/")
    assert script != command[2], "the command reads /config/tfserving.flags"
    path = f"{_fake_server(tmp_path)}:{os.environ['PATH']}"
    out = subprocess.run(
        [*command[:2], script, *command[3:], *c["args"]],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "PATH": path},
        check=True,
    )
    started = out.stdout.splitlines()
    file_flags = [f"--{k}={v}" for k, v in FLAGS.items()]
    assert started == file_flags + c["args"]
    extra = {a.split("=", 1)[0].removeprefix("--") for a in c["args"]}
    assert not extra & set(FLAGS), "a cluster flag must not override one of serving_config/tfserving.flags"
    channel = next(a for a in c["args"] if a.startswith("--grpc_channel_arguments="))
    assert "grpc.max_connection_age_ms=" in channel, "connections recycle, so clients find new pods"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_tfserving_probes_test_what_matters(overlay: str) -> None:
    _, c = tfserving(overlay)
    # Readiness: the shipped health check, every model of models.config AVAILABLE, on the REST port.
    assert c["readinessProbe"]["exec"]["command"] == [
        "bash",
        "/config/healthcheck.sh",
        FLAGS["model_config_file"],
        FLAGS["rest_api_port"],
    ]
    assert "AVAILABLE" in (SERVING_CONFIG / "healthcheck.sh").read_text()
    assert c["readinessProbe"]["timeoutSeconds"] < c["readinessProbe"]["periodSeconds"]
    # Liveness and start-up: the REST server answers (its metrics page, enabled by monitoring.config).
    assert MONITORING_PATH is not None
    for probe in ("livenessProbe", "startupProbe"):
        assert c[probe]["httpGet"] == {"path": MONITORING_PATH.group(1), "port": "http"}, probe


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_tfserving_reads_the_models_where_models_config_says(overlay: str) -> None:
    deployment, c = tfserving(overlay)
    volume = mounts(deployment, c)["/models"]
    assert volume["persistentVolumeClaim"] == {"claimName": "stockcast-models", "readOnly": True}
    assert next(m for m in c["volumeMounts"] if m["mountPath"] == "/models")["readOnly"] is True
    for entry in MODELS_CONFIG.model_config_list.config:
        assert entry.base_path == f"/models/{entry.name}"
    pvc = get(overlay, "PersistentVolumeClaim", "stockcast-models")["spec"]
    # Several TF Serving pods on several nodes read it: shared storage (dev: one node, ReadWriteOnce).
    assert pvc["accessModes"] == (["ReadWriteOnce"] if overlay == "dev" else ["ReadWriteMany"])


def _wait_script(overlay: str = "prod") -> list[str]:
    deployment = get(overlay, "Deployment", "tfserving")
    init = container(deployment, "wait-for-models")
    assert "/models" in mounts(deployment, init) and "/config" in mounts(deployment, init)
    return [expand(part, {}) for part in init["command"]]


def _config_under(tmp_path: Path, remote: str | None = None) -> Path:
    """models.config with each local base_path moved under tmp_path (and one model's path remote)."""
    text = (SERVING_CONFIG / "models.config").read_text().replace('base_path: "/models/', f'base_path: "{tmp_path}/')
    if remote:
        text = text.replace(f'base_path: "{tmp_path}/{remote}"', f'base_path: "gs://bucket/models/{remote}"')
    path = tmp_path / "models.config"
    path.write_text(text)
    return path


def _run_wait(command: list[str], config: Path, timeout_s: float) -> subprocess.CompletedProcess[str]:
    *script, _ = command
    return subprocess.run(["timeout", str(timeout_s), *script, str(config)], capture_output=True, text=True)


def test_tfserving_waits_until_every_model_has_a_version(tmp_path: Path) -> None:
    command = _wait_script()
    assert command[-1] == FLAGS["model_config_file"]
    names = [c.name for c in MODELS_CONFIG.model_config_list.config]
    for name in names[1:]:
        (tmp_path / name / "1").mkdir(parents=True)
    # The first model has only a staging folder (export renames it into place when complete) and a folder
    # TF Serving would not load (version folders are named by their number alone).
    (tmp_path / names[0] / ".staging-1").mkdir(parents=True)
    (tmp_path / names[0] / "v2").mkdir()
    waiting = _run_wait(command, _config_under(tmp_path), 2)
    assert waiting.returncode == 124, waiting.stdout + waiting.stderr
    assert f"waiting for a version under {tmp_path}/{names[0]}" in waiting.stdout
    (tmp_path / names[0] / ".staging-1").rename(tmp_path / names[0] / "1")
    done = _run_wait(command, _config_under(tmp_path), 10)
    assert done.returncode == 0 and "every model has a version" in done.stdout


def test_tfserving_does_not_wait_for_a_bucket(tmp_path: Path) -> None:
    names = [c.name for c in MODELS_CONFIG.model_config_list.config]
    for name in names[1:]:
        (tmp_path / name / "3").mkdir(parents=True)
    done = _run_wait(_wait_script(), _config_under(tmp_path, remote=names[0]), 10)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_tfserving_runs_the_image_compose_runs(overlay: str) -> None:
    deployment, c = tfserving(overlay)
    tag = re.sub(r"\$\{[A-Z_]+:-([^}]+)\}", r"\1", COMPOSE["services"]["tfserving"]["image"])
    assert c["image"] == tag == container(deployment, "wait-for-models")["image"]


# --- Facade -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_facade_environment_names_are_its_settings(overlay: str) -> None:
    _, c = facade(overlay)
    names = set(env(c))
    for name in names:
        assert is_setting(name) or name in {"PROMETHEUS_MULTIPROC_DIR", "STOCKCAST_POSTGRES_PASSWORD"}, name
    required = {
        "FACADE_ENVIRONMENT",
        "FACADE_ADMIN_TOKEN",
        "FACADE_BACKEND",
        "FACADE_TFSERVING_ADDRESS",
        "FACADE_KEYS_URL",
        "FACADE_RATE_LIMIT_STORAGE",
    }
    assert required <= names
    values = {k: e.get("value") for k, e in env(c).items()}
    assert values["FACADE_ENVIRONMENT"] == "production" and values["FACADE_BACKEND"] == "tfserving"
    token = env(c)["FACADE_ADMIN_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert token == {"name": "stockcast-facade", "key": "admin-token"}
    # It reads no model folder: no models dir setting, no models volume.
    assert "FACADE_MODELS_DIR" not in names and "FACADE_KEYS_DB" not in names
    assert not any("persistentVolumeClaim" in v for v in pod_spec(get(overlay, "Deployment", "facade"))["volumes"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_facade_reaches_every_tf_serving_pod_through_the_headless_service(overlay: str) -> None:
    _, c = facade(overlay)
    address = env(c)["FACADE_TFSERVING_ADDRESS"]["value"]
    service = get(overlay, "Service", "tfserving-headless")
    grpc = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "grpc")
    assert address == f"dns:///{service['metadata']['name']}:{grpc}"
    assert str(grpc) == FLAGS["port"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_facade_names_its_models_from_the_config_tf_serving_reads(overlay: str) -> None:
    deployment, c = facade(overlay)
    path = Path(env(c)["FACADE_MODEL_CONFIG_FILE"]["value"])
    volume = mounts(deployment, c)[str(path.parent)]
    assert config_map_names(volume) == ["tfserving-models"]
    assert path.name == Path(FLAGS["model_config_file"]).name
    assert path.name in config_map(overlay, "tfserving-models")["data"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_facade_port_and_probes_match_the_app(overlay: str) -> None:
    _, c = facade(overlay)
    port = int(env(c)["FACADE_PORT"]["value"])
    assert env(c)["FACADE_HOST"]["value"] == "0.0.0.0"
    assert c["ports"] == [{"name": "http", "containerPort": port}]
    assert f"EXPOSE {port}" in (ROOT / "docker" / "facade.Dockerfile").read_text()
    service = get(overlay, "Service", "facade")["spec"]["ports"]
    assert service == [{"name": "http", "port": port, "targetPort": "http"}]
    routes = {getattr(r, "path", None) for r in health_router.routes}
    assert c["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/", "port": "http"}
    assert {"/ready", "/"} <= routes


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_facade_writes_only_to_its_empty_dirs(overlay: str) -> None:
    deployment, c = facade(overlay)
    assert pod_spec(deployment)["securityContext"]["runAsUser"] == _dockerfile_user("facade.Dockerfile")
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    where = mounts(deployment, c)
    writable = {p for p, v in where.items() if "emptyDir" in v}
    multiproc = env(c)["PROMETHEUS_MULTIPROC_DIR"]["value"]
    assert writable == {multiproc, "/tmp"}
    assert int(env(c)["FACADE_WORKERS"]["value"]) > 1, "multiprocess metrics are what the folder is for"
    assert all(m.get("readOnly") for m in c["volumeMounts"] if m["mountPath"] not in writable)


def test_dev_keys_and_quotas_live_in_the_in_cluster_stores() -> None:
    _, c = facade("dev")
    variables = list(env(c))
    postgres = container(get("dev", "StatefulSet", "postgres"), "postgres")
    pg_env = env(postgres)
    keys = env(c)["FACADE_KEYS_URL"]["value"]
    # $(VAR) expands only variables defined earlier in the list, from the same Secret as the server's password.
    ref = re.search(r"\$\(([A-Z_]+)\)", keys)
    assert ref and variables.index(ref.group(1)) < variables.index("FACADE_KEYS_URL")
    assert env(c)[ref.group(1)]["valueFrom"] == pg_env["POSTGRES_PASSWORD"]["valueFrom"]
    url = urlsplit(expand(keys, {ref.group(1): "pw"}))
    service = get("dev", "Service", "postgres")
    assert url.scheme == "postgresql" and url.password == "pw"
    assert url.username == pg_env["POSTGRES_USER"]["value"] and url.path == f"/{pg_env['POSTGRES_DB']['value']}"
    assert (url.hostname, url.port) == (service["metadata"]["name"], service["spec"]["ports"][0]["port"])
    assert get("dev", "StatefulSet", "postgres")["spec"]["serviceName"] == service["metadata"]["name"]
    quotas = urlsplit(env(c)["FACADE_RATE_LIMIT_STORAGE"]["value"])
    redis = get("dev", "Service", "redis")
    assert quotas.scheme == "redis"
    assert (quotas.hostname, quotas.port) == (redis["metadata"]["name"], redis["spec"]["ports"][0]["port"])


def test_prod_keys_and_quotas_come_from_the_state_secret() -> None:
    _, c = facade("prod")
    for name, key in (("FACADE_KEYS_URL", "keys-url"), ("FACADE_RATE_LIMIT_STORAGE", "rate-limit-storage")):
        assert env(c)[name]["valueFrom"]["secretKeyRef"] == {"name": "stockcast-state", "key": key}


# --- Seeding Job ------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_seed_job_runs_what_the_compose_trainer_runs(overlay: str) -> None:
    job = get(overlay, "Job", "stockcast-seed")
    c = container(job, "trainer")
    trainer = COMPOSE["services"]["trainer"]
    assert c["args"] == trainer["command"]
    assert c["image"] == trainer["image"]
    assert pod_spec(job)["securityContext"]["runAsUser"] == _dockerfile_user("trainer.Dockerfile")
    where = mounts(job, c)
    models_dir = c["args"][c["args"].index("--models-dir") + 1]
    runs_dir = c["args"][c["args"].index("--runs-dir") + 1]
    assert where[models_dir]["persistentVolumeClaim"]["claimName"] == "stockcast-models"
    assert where[runs_dir]["persistentVolumeClaim"]["claimName"] == "stockcast-runs"
    assert "emptyDir" in where["/tmp"] and env(c)["HOME"]["value"] == "/tmp"
    tickers = c["args"][c["args"].index("--tickers") + 1 :]
    assert {model_name(t) for t in tickers} == {e.name for e in MODELS_CONFIG.model_config_list.config}
