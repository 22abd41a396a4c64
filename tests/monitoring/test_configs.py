"""The monitoring files: promtool accepts config and rules, the rules' unit tests pass, the pieces agree."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from monitoring.dashboard import DASHBOARD_FILE, panels, render_json

ROOT = Path(__file__).resolve().parents[2]
MON = ROOT / "monitoring"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
FLAGS = dict(
    line.removeprefix("--").split("=", 1)
    for line in (ROOT / "serving_config" / "tfserving.flags").read_text().splitlines()
    if line.startswith("--")
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.skip("promtool is not installed (.ci/run installs Debian's prometheus package)")
    return subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_promtool_checks_the_config_and_its_rules() -> None:
    out = promtool("check", "config", "monitoring/prometheus/prometheus.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 rule files found" in out.stdout + out.stderr


def test_promtool_checks_the_rules() -> None:
    rules = sorted(str(p.relative_to(ROOT)) for p in (MON / "prometheus" / "rules").glob("*.yml"))
    out = promtool("check", "rules", *rules)
    assert out.returncode == 0, out.stdout + out.stderr


def test_alert_rules_pass_their_unit_tests() -> None:
    tests = sorted(str(p.relative_to(ROOT)) for p in (MON / "tests").glob("*.yml"))
    assert tests
    out = promtool("test", "rules", *tests)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_alert_is_unit_tested_and_has_a_runbook() -> None:
    rules = yaml.safe_load((MON / "prometheus" / "rules" / "stockcast.yml").read_text())
    alerts = [r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
    tested = (MON / "tests" / "alerts.yml").read_text()
    runbook = (ROOT / "docs" / "monitoring.md").read_text()
    for name in alerts:
        assert f"alertname: {name}" in tested, name
        assert re.search(rf"^#+ {name}$", runbook, re.M), f"docs/monitoring.md has no runbook heading for {name}"


def test_committed_dashboard_is_the_generated_one() -> None:
    assert DASHBOARD_FILE.read_text() == render_json(), "run `python -m monitoring.dashboard`"
    board = json.loads(DASHBOARD_FILE.read_text())
    datasource = yaml.safe_load((MON / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    charts = [p for p in board["panels"] if p["type"] != "row"]
    assert len(charts) == len(panels())
    for panel in charts:
        assert panel["datasource"]["uid"] == uid and panel["targets"], panel["title"]


def test_compose_monitoring_profile_agrees_with_the_files() -> None:
    services = COMPOSE["services"]
    prom, grafana = services["prometheus"], services["grafana"]
    assert prom["profiles"] == grafana["profiles"] == ["monitoring"]
    assert "./monitoring/prometheus:/etc/prometheus:ro" in prom["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prom["command"]
    provider = yaml.safe_load((MON / "grafana" / "provisioning" / "dashboards" / "stockcast.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert f"./monitoring/grafana/dashboards:{path}:ro" in grafana["volumes"]
    assert "./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    datasource = yaml.safe_load((MON / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    for service in (prom, grafana):
        assert all(p.startswith("127.0.0.1:") for p in service["ports"]), "monitoring UIs stay on loopback"


def test_scrape_targets_match_the_services() -> None:
    config = yaml.safe_load((MON / "prometheus" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    facade_env = COMPOSE["services"]["facade"]["environment"]
    assert jobs["facade"]["static_configs"][0]["targets"] == [f"facade:{facade_env['FACADE_PORT']}"]
    assert jobs["tfserving"]["static_configs"][0]["targets"] == [f"tfserving:{FLAGS['rest_api_port']}"]
    monitoring_config = (ROOT / "serving_config" / "monitoring.config").read_text()
    path = re.search(r'path:\s*"([^"]+)"', monitoring_config)
    assert path and jobs["tfserving"]["metrics_path"] == path.group(1)
    assert "enable: true" in monitoring_config
