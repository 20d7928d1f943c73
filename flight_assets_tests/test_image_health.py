"""The image's health checks finish well within their timeout (issue 9, item 1).

No container registry or Docker here, so the test reproduces what deploy/Dockerfile does that matters for start-up
time: a fresh Python environment with the project installed by `pip install` with the Dockerfile's own flags, then
the Dockerfile's `python -m compileall` step; the environment owned by one user (a system user created when missing,
as the image's /usr/local belongs to root) and the processes run as another who cannot write it (`nobody`, as the
image runs as `dagster`). Then, as on ECS: the code server (`dagster api grpc`) and the daemon (`dagster-daemon run`
loading the code server through a grpc workspace) are started from that environment, and the exact health-check
commands of modules/dagster_ecs/services.tf are timed against the timeout configured there. Finally the same two
checks run as the environment's owner, who could write bytecode, and so does importing the classes the ECS instance
(deploy/dagster.yaml) loads: no .pyc file appears or changes, so every module they import was compiled at build time.

Needs root (useradd, chown, runuser) and a Python >= 3.11 that `nobody` may execute; skips with the reason otherwise.
About 2 minutes, most of it the install.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "deploy" / "Dockerfile"
ECS_DAGSTER_YAML = REPO / "deploy" / "dagster.yaml"
SERVICES_TF = REPO / "deploy" / "terraform" / "modules" / "dagster_ecs" / "services.tf"
OWNER = "flight-assets-image"  # owns the environment, like root owns the image's /usr/local
RUNNER = "nobody"  # runs the processes and cannot write the environment, like the image's `dagster`
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"

pytestmark = pytest.mark.slow


def _dockerfile_steps() -> tuple[list[str], list[str], dict[str, str]]:
    """(pip install flags, compileall flags, ENV) of deploy/Dockerfile."""
    text = DOCKERFILE.read_text()
    install = re.search(r"^RUN pip install (?P<args>[^\\\n]*?)\s*\\?$", text, re.M)
    assert install, "deploy/Dockerfile has no `RUN pip install ... .` line"
    args = install["args"].split()
    assert args[-1] == ".", args
    compile_step = re.search(r"python -m compileall (?P<args>[^\\\n/]*?)\s*/usr/local/lib/python3\.\d+", text)
    assert compile_step, "deploy/Dockerfile does not compile the interpreter's library (python -m compileall)"
    env_block = re.search(r"^ENV (?P<body>(?:.*\\\n)*.*)$", text, re.M)
    env = dict(re.findall(r"(\w+)=(\S+)", env_block["body"])) if env_block else {}
    return args[:-1], compile_step["args"].split(), env


def _health_check_timeout() -> int:
    match = re.search(r"health_check\s*=\s*\{[^}]*\btimeout\s*=\s*(\d+)", SERVICES_TF.read_text())
    assert match, "no health_check timeout in services.tf"
    return int(match.group(1))


def _health_commands() -> dict[str, list[str]]:
    """The ECS health-check commands of services.tf (the ["CMD", ...] lists), by service, and the poller's: the second
    container of the code server's task (local.poller_container)."""
    text = SERVICES_TF.read_text()
    commands = {}
    blocks = re.findall(r"^\s{4}(\w+) = \{\n(.*?)^\s{4}\}", text, re.M | re.S)  # local.services' entries
    blocks += re.findall(r"^\s{2}(poller)_container = \{\n(.*?)^\s{2}\}", text, re.M | re.S)
    for service, body in blocks:
        health = re.search(r"health\s*=\s*\[(.*?)\]", body)
        if health:
            parts = re.findall(r'"([^"]*)"|tostring\(local\.(\w+)\)', health.group(1))
            commands[service] = [literal or f"<{local}>" for literal, local in parts][1:]  # without "CMD"
    return commands


def _as(user: str, env: dict[str, str], argv: list[str]) -> list[str]:
    """argv run as `user` with exactly `env` (runuser itself resets HOME to the user's, /nonexistent for nobody)."""
    return [RUNUSER, "-u", user, "--", "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]


def _run_as(user: str, argv: list[str], env: dict[str, str], timeout: float = 120,
            cwd: Path | str | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(_as(user, env, argv), cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return result, time.monotonic() - started


def _interpreter() -> str:
    """A Python >= 3.11 that `nobody` may execute (pyenv's under /root is not), preferring the image's 3.11."""
    candidates = [sys.executable, os.path.realpath(sys.executable), shutil.which("python3.11"), "/usr/bin/python3.11",
                  "/usr/local/bin/python3.11", shutil.which("python3"), "/usr/bin/python3"]
    for candidate in dict.fromkeys(filter(None, candidates)):
        probe = subprocess.run([RUNUSER, "-u", RUNNER, "--", candidate, "-c",
                                "import sys, venv; assert sys.version_info >= (3, 11); print(sys.version_info[:2])"],
                               capture_output=True, text=True, timeout=30, cwd="/")
        if probe.returncode == 0:
            return candidate
    pytest.skip(f"no Python >= 3.11 that {RUNNER} may execute (tried {candidates})")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pyc_files(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*.pyc")}


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def image_env() -> Iterator[dict[str, Path | str]]:
    """The image's install reproduced: a Python environment installed and compiled as the Dockerfile does."""
    if os.geteuid() != 0 or not os.access(RUNUSER, os.X_OK):
        pytest.skip("needs root and runuser (CI runs as root) to own the environment and run as another user")
    python = _interpreter()
    pip_flags, compile_flags, docker_env = _dockerfile_steps()
    assert "--no-compile" not in pip_flags and "PYTHONDONTWRITEBYTECODE" not in docker_env
    try:
        pwd.getpwnam(OWNER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OWNER],
                       check=True, capture_output=True, timeout=30)
    base = Path(tempfile.mkdtemp(prefix="image-health-", dir="/tmp"))
    base.chmod(0o755)
    try:
        source = base / "src"  # what the Dockerfile COPYs
        source.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(REPO / name, source / name)
        shutil.copytree(REPO / "flight_assets", source / "flight_assets",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        env_dir = base / "python"
        subprocess.run([python, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
        env_python = env_dir / "bin" / "python"
        build_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("VIRTUAL_ENV")}
        build_env.update({k: v for k, v in docker_env.items() if k.startswith("PIP_")})
        started = time.monotonic()
        # pip from the test's environment, installing into (and run by) the new interpreter, with the Dockerfile's flags
        install = subprocess.run([sys.executable, "-m", "pip", "--python", str(env_python), "install", "--quiet",
                                  *pip_flags, str(source)], env=build_env, capture_output=True, text=True,
                                 timeout=600)
        if install.returncode != 0 and "No matching distribution" in install.stderr:
            pytest.skip(f"the project's dependencies are not installable here: {install.stderr[-400:]}")
        assert install.returncode == 0, install.stderr[-3000:]
        installed = time.monotonic()
        library = next((env_dir / "lib").glob("python3.*"))
        compiled = subprocess.run([str(env_python), "-m", "compileall", *compile_flags, str(library)],
                                  env=build_env, capture_output=True, text=True, timeout=600)
        assert compiled.returncode == 0, (compiled.stdout + compiled.stderr)[-3000:]
        done = time.monotonic()
        print(f"\nimage-like install with {python}: pip install {installed - started:.0f} s, "
              f"compileall {done - installed:.0f} s")
        subprocess.run(["chown", "-R", f"{OWNER}:", str(env_dir)], check=True, timeout=120)
        home = base / "dagster_home"  # the runner's own, writable, as the image's DAGSTER_HOME is dagster's
        (home / "lake").mkdir(parents=True)
        subprocess.run(["chown", "-R", f"{RUNNER}:", str(home)], check=True, timeout=30)
        yield {"base": base, "env_dir": env_dir, "library": library, "home": home}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _process_env(image: dict[str, Path | str]) -> dict[str, str]:
    env_dir, home = Path(image["env_dir"]), Path(image["home"])
    return {
        "PATH": f"{env_dir / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1", "DAGSTER_HOME": str(home), "FLIGHT_LAKE": str(home / "lake"),
        "FLIGHT_POLL_SENSOR": "off", "DAGSTER_DISABLE_TELEMETRY": "1",
    }


def _check_until_ok(command: list[str], env: dict[str, str], home: Path, timeout: float,
                    server: subprocess.Popen[bytes], log: Path, wait_s: float, interval_s: float,
                    what: str) -> list[float]:
    """Run a health-check command as the runner until it passes (the server starting up); its timings."""
    times = []
    deadline = time.monotonic() + wait_s
    while True:
        result, elapsed = _run_as(RUNNER, command, env, timeout=timeout + 30, cwd=home)
        times.append(elapsed)
        if result.returncode == 0:
            return times
        assert server.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{what}: {result.stdout}{result.stderr}"
        time.sleep(interval_s)


def test_health_checks_finish_within_their_timeout_without_writing_bytecode(
        image_env: dict[str, Path | str]) -> None:
    env_dir, home, library = Path(image_env["env_dir"]), Path(image_env["home"]), Path(image_env["library"])
    timeout = _health_check_timeout()
    assert timeout >= 30
    commands = _health_commands()
    assert commands["daemon"] == ["dagster-daemon", "liveness-check"], commands
    assert commands["code"] == ["dagster", "api", "grpc-health-check", "--port", "<code_port>"], commands
    # The poller's location (same image, same task) is checked by the same command on its own port: timing the code
    # server's check below times it too.
    assert commands["poller"] == ["dagster", "api", "grpc-health-check", "--port", "<poller_port>"], commands
    env = _process_env(image_env)
    cannot_write, _ = _run_as(RUNNER, ["test", "-w", str(library / "site-packages")], env, cwd=home)
    assert cannot_write.returncode != 0, f"{RUNNER} can write the environment: the test would prove nothing"
    assert (library / "site-packages" / "dagster" / "__pycache__").is_dir()
    compiled = _pyc_files(env_dir)

    port = _free_port()
    code_check = [str(env_dir / "bin" / commands["code"][0]), *commands["code"][1:-1], str(port)]
    liveness = [str(env_dir / "bin" / commands["daemon"][0]), *commands["daemon"][1:]]
    (home / "workspace.yaml").write_text(
        f"load_from:\n  - grpc_server:\n      host: 127.0.0.1\n      port: {port}\n"
        "      location_name: flight_assets\n")
    processes: list[subprocess.Popen[bytes]] = []
    logs = {name: (home / f"{name}.log").open("wb") for name in ("code", "daemon")}
    try:
        processes.append(subprocess.Popen(
            _as(RUNNER, env, [str(env_dir / "bin" / "dagster"), "api", "grpc", "--host", "127.0.0.1", "--port",
                              str(port), "--module-name", "flight_assets.definitions", "--location-name",
                              "flight_assets"]),
            cwd=home, stdout=logs["code"], stderr=subprocess.STDOUT, start_new_session=True))
        code_times = _check_until_ok(code_check, env, home, timeout, processes[0], home / "code.log",
                                     wait_s=120, interval_s=1, what="the code server never became healthy")
        processes.append(subprocess.Popen(
            _as(RUNNER, env, [str(env_dir / "bin" / "dagster-daemon"), "run", "--workspace",
                              str(home / "workspace.yaml")]),
            cwd=home, stdout=logs["daemon"], stderr=subprocess.STDOUT, start_new_session=True))
        liveness_times = _check_until_ok(liveness, env, home, timeout, processes[1], home / "daemon.log",
                                         wait_s=150, interval_s=2, what="the daemon never became live")
        # Once both run (the state ECS checks every interval): the checks again, with both servers busy.
        for _ in range(2):
            result, elapsed = _run_as(RUNNER, code_check, env, timeout=timeout + 30, cwd=home)
            assert result.returncode == 0, result.stdout + result.stderr
            code_times.append(elapsed)
            result, elapsed = _run_as(RUNNER, liveness, env, timeout=timeout + 30, cwd=home)
            assert result.returncode == 0, result.stdout + result.stderr
            liveness_times.append(elapsed)
        print(f"\nas {RUNNER}, health-check timeout {timeout} s: `dagster api grpc-health-check` "
              f"{', '.join(f'{t:.1f}' for t in code_times)} s; `dagster-daemon liveness-check` "
              f"{', '.join(f'{t:.1f}' for t in liveness_times)} s")
        assert max(code_times) < timeout and max(liveness_times) < timeout

        # The owner could write bytecode: running the checks as the owner leaves every .pyc as it was, so nothing
        # they import needed compiling after the build.
        owner_home = Path(image_env["base"]) / "owner_home"
        owner_home.mkdir()
        shutil.chown(owner_home, OWNER)
        owner_env = {**env, "HOME": str(owner_home), "DAGSTER_HOME": str(owner_home)}
        result, _ = _run_as(OWNER, code_check, owner_env, timeout=timeout + 30, cwd=owner_home)
        assert result.returncode == 0, result.stdout + result.stderr
        # (its own empty instance has no daemon heartbeats: "not live" after importing everything the check needs)
        result, _ = _run_as(OWNER, liveness, owner_env, timeout=timeout + 30, cwd=owner_home)
        assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stdout + result.stderr
        # ... and so does importing the classes the ECS instance (deploy/dagster.yaml) loads on top: the PostgreSQL
        # storage, the run coordinator, EcsRunLauncher, S3ComputeLogManager (no database here to run the checks
        # against that instance).
        instance_imports = "import dagster_postgres, psycopg2; " + "; ".join(
            f"import {m}" for m in sorted(set(re.findall(r"^\s*module: ([\w.]+)", ECS_DAGSTER_YAML.read_text(), re.M))))
        result, elapsed = _run_as(RUNNER, [str(env_dir / "bin" / "python"), "-c", instance_imports], env, cwd=home)
        assert result.returncode == 0, result.stderr
        print(f"as {RUNNER}: the ECS instance's classes import in {elapsed:.1f} s ({instance_imports})")
        result, _ = _run_as(OWNER, [str(env_dir / "bin" / "python"), "-c", instance_imports], owner_env,
                            cwd=owner_home)
        assert result.returncode == 0, result.stderr
        after = _pyc_files(env_dir)
        written = sorted(set(after) - set(compiled)) + sorted(p for p in compiled if after.get(p) != compiled[p])
        assert not written, f"{len(written)} .pyc files had to be written at run time, e.g. {written[:5]}"
    finally:
        for process in reversed(processes):
            _stop(process)
        for log in logs.values():
            log.close()
