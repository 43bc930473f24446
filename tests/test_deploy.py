"""Deployment files: Dockerfile, compose + Prometheus + Grafana provisioning, the systemd unit.

No container engine runs here: these tests parse the files and check that they agree with each
other and with solbot's CLI (the command lines they start must parse as `solbot run` options).
`scripts/check-deploy` (slow test below) executes the Dockerfile's install steps for real.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer
from ruamel.yaml import YAML

from solbot.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SECRET_NAMES = re.compile(r"LIGHTER_|KEY|SECRET|TOKEN|PASSWORD|WEBHOOK", re.IGNORECASE)


def _check_deploy() -> ModuleType:
    path = ROOT / "scripts" / "check-deploy"
    loader = importlib.machinery.SourceFileLoader("check_deploy", str(path))
    spec = importlib.util.spec_from_loader("check_deploy", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_deploy"] = module
    loader.exec_module(module)
    return module


CHECK = _check_deploy()
INSTRUCTIONS = CHECK.parse_dockerfile((ROOT / "Dockerfile").read_text())


def _yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def _parse_run(args: list[str]) -> dict[str, Any]:
    """Parse `solbot run` options the way the CLI would, without running anything."""
    command: Any = typer.main.get_command(app)  # typer may ship its own click: no isinstance
    run = command.commands["run"]
    assert args[0] == "run"
    with run.make_context("run", list(args[1:])) as context:
        return dict(context.params)


def _of(keyword: str) -> list[Any]:
    return [item for item in INSTRUCTIONS if item.keyword == keyword]


# -- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_and_the_runtime_stage_is_slim() -> None:
    stages = _of("FROM")
    assert len(stages) >= 2
    assert "slim" in stages[-1].args.split()[0]
    assert any(item.args.startswith("--from=") for item in _of("COPY"))


def test_dockerfile_installs_the_wheel_with_the_lighter_extra_in_the_runtime_stage() -> None:
    final = INSTRUCTIONS[-1].stage
    installs = [i.args for i in _of("RUN") if i.stage == final and "pip install" in i.args]
    assert any(re.search(r"solbot-\*\.whl\)?\[lighter\]", text) for text in installs)


def test_dockerfile_runs_as_a_non_root_user() -> None:
    user = _of("USER")[-1].args
    assert user not in ("root", "0", "0:0")
    creates = [i.args for i in _of("RUN") if i.args.startswith("useradd")]
    assert creates and creates[0].split()[-1] == user


def test_dockerfile_bakes_no_secret_into_env_or_args() -> None:
    env = CHECK.env_of(INSTRUCTIONS)
    assert not [key for key in env if SECRET_NAMES.search(key)]
    args = [i.args.partition("=")[0] for i in _of("ARG")]
    assert not [name for name in args if SECRET_NAMES.search(name)]


def test_dockerfile_cmd_is_a_paper_run_that_parses_and_serves_metrics_on_all_interfaces() -> None:
    entrypoint = _of("ENTRYPOINT")[-1].exec_form()
    cmd = _of("CMD")[-1].exec_form()
    assert entrypoint == ["solbot"]
    params = _parse_run(cmd)
    assert params["live"] is False
    assert params["metrics_host"] == "0.0.0.0"
    assert params["metrics_port"] == 9100
    assert [int(port) for port in _of("EXPOSE")[-1].args.split()] == [9100]


def test_healthcheck_requests_health_on_the_port_the_cmd_serves() -> None:
    health = _of("HEALTHCHECK")[-1]
    command = health.exec_form()
    assert command is not None and command[0] == "python"
    port = _parse_run(_of("CMD")[-1].exec_form())["metrics_port"]
    assert f"http://127.0.0.1:{port}/health" in " ".join(command)
    assert _of("STOPSIGNAL")[-1].args == "SIGTERM"


def test_dockerignore_lets_through_everything_the_dockerfile_copies() -> None:
    allowed = {
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    for item in _of("COPY"):
        parts = item.args.split()
        if parts[0].startswith("--from="):
            continue
        for source in parts[:-1]:
            assert source in allowed, source
            assert (ROOT / source).exists(), source


def test_check_deploy_maps_image_paths_under_its_root(tmp_path: Path) -> None:
    root = CHECK.Root(tmp_path, CHECK.image_roots(INSTRUCTIONS))
    text = root.rewrite('python -m venv /opt/solbot && pip install "$(ls /dist/x.whl)[lighter]"')
    assert f"{tmp_path}/opt/solbot" in text and f"{tmp_path}/dist/x.whl" in text
    assert text.startswith(sys.executable) or text.startswith(f"'{sys.executable}'")


# -- compose, Prometheus, Grafana ---------------------------------------------------------------


COMPOSE = _yaml(DEPLOY / "compose.yaml")


def _solbot_command(extra: str = "") -> list[str]:
    text = COMPOSE["services"]["solbot"]["command"]
    text = re.sub(r"\$\{SOLBOT_ARGS:-\}", extra, text)
    text = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: m.group(2), text)
    assert "$" not in text
    return shlex.split(text)


def test_compose_runs_solbot_on_paper_by_default_and_live_only_when_asked() -> None:
    assert set(COMPOSE["services"]) == {"solbot", "prometheus", "grafana"}
    paper = _parse_run(_solbot_command())
    assert paper["live"] is False
    assert paper["profile"] == "defensive"
    assert _parse_run(_solbot_command("--live"))["live"] is True


def test_compose_builds_the_repository_dockerfile() -> None:
    build = COMPOSE["services"]["solbot"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"


def test_compose_publishes_the_metrics_port_prometheus_scrapes() -> None:
    port = _parse_run(_solbot_command())["metrics_port"]
    assert _parse_run(_solbot_command())["metrics_host"] == "0.0.0.0"
    assert f"127.0.0.1:{port}:{port}" in COMPOSE["services"]["solbot"]["ports"]
    prometheus = _yaml(DEPLOY / "prometheus.yml")
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    assert jobs["solbot"]["metrics_path"] == "/metrics"
    assert jobs["solbot"]["static_configs"][0]["targets"] == [f"solbot:{port}"]


def test_compose_mounts_files_that_exist() -> None:
    mounts = [
        volume.split(":")[0]
        for service in COMPOSE["services"].values()
        for volume in service.get("volumes", [])
        if volume.startswith(".")
    ]
    assert mounts
    for source in mounts:
        assert (DEPLOY / source).exists(), source
    prometheus = COMPOSE["services"]["prometheus"]
    config = next(v for v in prometheus["volumes"] if v.startswith("./prometheus.yml"))
    assert f"--config.file={config.split(':')[1]}" in prometheus["command"]


def test_grafana_provisions_the_prometheus_datasource_and_solbots_dashboard() -> None:
    grafana = COMPOSE["services"]["grafana"]
    mounts = dict(volume.split(":")[:2] for volume in grafana["volumes"])
    assert mounts["../docs/grafana-dashboard.json"].startswith("/var/lib/grafana/dashboards/")
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    provider = _yaml(DEPLOY / "grafana/provisioning/dashboards/solbot.yaml")["providers"][0]
    dashboard_dir = str(Path(mounts["../docs/grafana-dashboard.json"]).parent)
    assert provider["options"]["path"] == dashboard_dir
    source = _yaml(DEPLOY / "grafana/provisioning/datasources/prometheus.yaml")["datasources"][0]
    assert source["type"] == "prometheus" and source["isDefault"] is True
    prometheus_port = COMPOSE["services"]["prometheus"]["ports"][0].rsplit(":", 1)[1]
    assert source["url"] == f"http://prometheus:{prometheus_port}"


def test_compose_gives_solbot_time_to_cancel_all_and_keeps_secrets_out_of_git() -> None:
    solbot = COMPOSE["services"]["solbot"]
    assert solbot["stop_signal"] == "SIGTERM"
    assert int(solbot["stop_grace_period"].rstrip("s")) >= 30
    environment = solbot.get("environment", {})
    assert not [key for key in environment if SECRET_NAMES.search(key)]
    env_file = solbot["env_file"][0]
    assert env_file["required"] is False
    assert not (DEPLOY / env_file["path"]).exists()
    assert (DEPLOY / "solbot.env.example").is_file()
    tracked = subprocess.run(
        ["git", "ls-files", "deploy"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert f"deploy/{env_file['path']}" not in tracked


# -- systemd ------------------------------------------------------------------------------------


def _unit() -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in (DEPLOY / "solbot.service").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current[key] = value
    return sections


def _seconds(text: str) -> float:
    return float(text.rstrip("s"))


def test_systemd_unit_never_restarts_a_latched_kill_and_restarts_crashes() -> None:
    service = _unit()["Service"]
    assert service["Restart"] == "on-failure"
    prevented = service["RestartPreventExitStatus"].split()
    assert "10" in prevented
    assert {"2", "3", "4"} <= set(prevented)  # usage and invalid files: same answer again


def test_systemd_unit_stops_with_sigterm_and_waits_for_the_cancel_all() -> None:
    service = _unit()["Service"]
    assert service["KillSignal"] == "SIGTERM"
    assert service["KillMode"] == "mixed"
    assert _seconds(service["TimeoutStopSec"]) >= 30


def test_systemd_unit_reads_credentials_only_from_an_environment_file() -> None:
    service = _unit()["Service"]
    assert service["EnvironmentFile"].startswith("/etc/")
    assert not SECRET_NAMES.search(service["ExecStart"])
    assert not [v for k, v in service.items() if k == "Environment" and SECRET_NAMES.search(v)]
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == "/opt/solbot/bin/solbot"
    params = _parse_run(argv[1:])
    assert params["live"] is False and params["metrics_port"] == 9100


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify insists that ExecStart's binary exists: point it at one that does.
    text = (DEPLOY / "solbot.service").read_text().replace("/opt/solbot/bin/solbot", "/bin/true")
    unit = tmp_path / "solbot.service"
    unit.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


# -- the Dockerfile's install steps, for real ---------------------------------------------------


@pytest.mark.slow
def test_check_deploy_installs_the_wheel_and_the_installed_bot_passes_its_healthcheck() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check-deploy")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "HEALTHCHECK passed" in result.stdout
    assert "SIGTERM -> exit 0" in result.stdout
