"""Packaging: the wheel works from a fresh venv, and the Dockerfile's install, command and health check work.

There is no Docker engine here, so the image is kept right by replaying it: the build context is copied with the
.dockerignore patterns, the Dockerfile's pip line runs in a fresh venv, its CMD runs with its ENV. The venvs see
this interpreter's installed dependencies (a .pth file, as --system-site-packages would) so nothing is
downloaded but the build backend; the mockserver package itself comes only from the build.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import site
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import pytest

from mockserver.config import DEFAULT_PORT, FILE_ONLY, setting_names
from mockserver.pytest_plugin import MockClient

from .support import free_port, sms
from .test_pytest_plugin import clean_env, post_json, send_sms, serving

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def run(command: list[str], cwd: Path | str | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def fresh_venv(path: Path) -> Path:
    """A venv without pip whose imports fall back to this interpreter's site-packages; returns its bin dir."""
    run([sys.executable, "-m", "venv", "--without-pip", str(path)])
    python = path / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    # A path line in a .pth is only appended to sys.path: the .pth files in it (an editable install) stay unread.
    (Path(purelib) / "_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return path / "bin"


def pip_into(bin_dir: Path) -> list[str]:
    """This interpreter's pip, installing into the venv at bin_dir."""
    return [sys.executable, "-m", "pip", "--python", str(bin_dir / "python")]


# -- the wheel (issue 2: schemas found however the package is installed) ------------------------
@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)])
    [built] = out.glob("messages_mockserver-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    bin_dir = fresh_venv(tmp_path_factory.mktemp("wheel-venv") / "venv")
    run([*pip_into(bin_dir), "install", "-q", "--no-deps", "--ignore-installed", str(wheel)])
    return bin_dir


def test_the_wheel_ships_every_schema_the_command_and_the_pytest_plugin(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        declared = archive.read(entry_points).decode()
    schemas = {"mockserver/schemas/" + p.relative_to(REPO / "schemas").as_posix()
               for p in (REPO / "schemas").rglob("*.json")}
    assert schemas <= names
    assert re.search(r"\[console_scripts\]\s+mockserver = mockserver\.cli:main", declared)
    assert re.search(r"\[pytest11\]\s+mockserver = mockserver\.pytest_plugin", declared)


def test_the_package_is_imported_from_the_venv_not_the_source_tree(wheel_venv: Path, tmp_path: Path) -> None:
    probe = ("import json, mockserver, mockserver.contract as c; from importlib.metadata import entry_points; "
             "print(json.dumps([mockserver.__file__, str(c.default_schema_dir()), "
             "[e.value for e in entry_points(group='pytest11', name='mockserver')]]))")
    module, schema_dir, plugins = json.loads(run([str(wheel_venv / "python"), "-c", probe], cwd=tmp_path,
                                                 env=clean_env()))
    venv = wheel_venv.parent
    assert Path(module).is_relative_to(venv)
    assert Path(schema_dir).is_relative_to(venv)
    assert plugins == ["mockserver.pytest_plugin"]


def test_the_installed_command_validates_with_the_shipped_schemas(wheel_venv: Path, tmp_path: Path) -> None:
    port = free_port()
    bad = sms()
    bad["message"]["content"]["text"] = ""
    del bad["to"]["number"]
    with serving([str(wheel_venv / "mockserver"), "--port", str(port)], port, cwd=tmp_path, env=clean_env()) as url:
        status, problem = post_json(url + "/v0.1/messages", bad)
        assert status == 400
        assert sorted(p["name"] for p in problem["invalid_parameters"]) == ["message.content.text", "to.number"]
        assert send_sms(url)
        assert MockClient(url).health()["status"] == "ok"


def test_help_lists_every_setting(wheel_venv: Path, tmp_path: Path) -> None:
    text = run([str(wheel_venv / "mockserver"), "--help"], cwd=tmp_path, env=clean_env())

    for name in sorted(set(setting_names()) - FILE_ONLY):
        assert "--" + name.replace("_", "-") in text
        assert "MOCK_" + name.upper() in text


# -- the Dockerfile, replayed -------------------------------------------------------------------
@dataclass
class Dockerfile:
    """The instructions of the Dockerfile that matter here, continuation lines joined."""

    instructions: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def read(cls) -> Dockerfile:
        text = re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text())
        lines = [line.strip() for line in text.splitlines()]
        return cls([(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines
                    if line and not line.startswith("#")])

    def all(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]

    def env(self) -> dict[str, str]:
        pairs = [pair.split("=", 1) for args in self.all("ENV") for pair in shlex.split(args)]
        return dict(pairs)

    def cmd(self) -> list[str]:
        [cmd] = self.all("CMD")
        return json.loads(cmd)

    def healthcheck(self) -> str:
        [check] = self.all("HEALTHCHECK")
        return check.split(" CMD ", 1)[1]

    def pip_installs(self) -> list[tuple[str, list[str]]]:
        """Each RUN that calls pip, with the WORKDIR it runs in."""
        found, workdir = [], "/"
        for key, args in self.instructions:
            workdir = args if key == "WORKDIR" else workdir
            if key == "RUN" and args.startswith("pip "):
                found.append((workdir, shlex.split(args)))
        return found


def dockerignore_patterns() -> list[str]:
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert not [p for p in patterns if p.startswith("!")], "the replay supports plain patterns only"
    return patterns


def copy_build_context(dest: Path) -> None:
    """The files `docker build .` sends, by the .dockerignore patterns (a directory matched goes whole)."""
    patterns = dockerignore_patterns()

    def excluded(relative: str) -> bool:
        return any(fnmatch(relative, p) or (p.startswith("**/") and fnmatch(relative, p[3:])) for p in patterns)

    def ignore(directory: str, names: list[str]) -> set[str]:
        base = Path(directory).relative_to(REPO)
        return {name for name in names if excluded((base / name).as_posix())}

    shutil.copytree(REPO, dest, ignore=ignore)


def test_the_dockerfile_builds_a_small_non_root_image_with_a_health_check() -> None:
    dockerfile = Dockerfile.read()

    assert dockerfile.all("FROM") == ["python:3.11-slim"]
    assert dockerfile.all("USER") and dockerfile.all("USER")[-1] not in ("root", "0")
    assert dockerfile.all("EXPOSE") == [str(DEFAULT_PORT)]
    assert dockerfile.env()["MOCK_HOST"] == "0.0.0.0"
    assert dockerfile.env()["MOCK_PORT"] == str(DEFAULT_PORT)
    assert dockerfile.cmd() == ["mockserver"]
    assert "urllib" in dockerfile.healthcheck() and "/_mock/health" in dockerfile.healthcheck()
    assert [(workdir, args[0]) for workdir, args in dockerfile.pip_installs()] == [("/src", "pip")]
    assert "COPY . /src" in [f"COPY {args}" for args in dockerfile.all("COPY")]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's Python environment: the context copied as /src, then the Dockerfile's pip lines run there."""
    root = tmp_path_factory.mktemp("image")
    copy_build_context(root / "src")
    bin_dir = fresh_venv(root / "venv")
    for workdir, args in Dockerfile.read().pip_installs():
        assert workdir == "/src"
        run([*pip_into(bin_dir), *args[1:]], cwd=root / "src")
    return bin_dir


def container_env(bin_dir: Path, **run_env: str) -> dict[str, str]:
    """The image's ENV, then `docker run -e` values, with the image's Python first on PATH."""
    env = clean_env(**{**Dockerfile.read().env(), **run_env})
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    return env


def health_check(env: dict[str, str], cwd: Path) -> int:
    return subprocess.run(["sh", "-c", Dockerfile.read().healthcheck()], env=env, cwd=cwd, capture_output=True,
                          timeout=30).returncode


@pytest.fixture
def webhook_receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """examples/webhook_receiver.py as a process; yields its base URL and the file it prints to."""
    port = free_port()
    output = tmp_path / "receiver.log"
    with output.open("wb") as log:
        process = subprocess.Popen([sys.executable, str(REPO / "examples" / "webhook_receiver.py")], stdout=log,
                                   stderr=subprocess.STDOUT, env=clean_env(PORT=str(port)))
        try:
            wait_for_text(output, "Running on", process)
            yield f"http://127.0.0.1:{port}", output
        finally:
            process.terminate()
            process.wait(timeout=15)


def wait_for_text(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Wait for a starting process to print `text` (start-up takes wall time: there is no clock to advance)."""
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        assert process.poll() is None, path.read_text(errors="replace")
        assert time.monotonic() < deadline, f"no {text!r} in {path.read_text(errors='replace')}"
        time.sleep(0.05)


@pytest.mark.parametrize("token", [None, "let-me-in"])
def test_the_container_command_serves_with_the_image_env_and_passes_its_health_check(
        image: Path, tmp_path: Path, webhook_receiver: tuple[str, Path], token: str | None) -> None:
    receiver_url, receiver_log = webhook_receiver
    port = free_port()
    env = container_env(image, MOCK_PORT=str(port), MOCK_CLOCK="manual",
                        MOCK_STATUS_URL=receiver_url + "/webhooks/status",
                        **({"MOCK_CONTROL_TOKEN": token} if token else {}))

    with serving(Dockerfile.read().cmd(), port, cwd=tmp_path, env=env, token=token) as url:
        assert health_check(env, tmp_path) == 0
        client = MockClient(url, token=token)
        assert client.config()["clock"] == "manual"
        uuid = send_sms(url)
        client.advance(60)
        assert [d["state"] for d in client.webhooks(message_uuid=uuid)] == ["delivered", "delivered"]
    assert health_check(env, tmp_path) != 0  # the check fails once nothing serves
    printed = receiver_log.read_text()
    assert f'"message_uuid": "{uuid}"' in printed and '"status": "delivered"' in printed


def test_the_docker_files_name_only_real_settings() -> None:
    names = set(setting_names()) | {"url"}  # MOCK_URL: the pytest plugin's, for a mock already running
    for path in ("Dockerfile", "docker-compose.yml", "examples/github-actions.yml"):
        used = set(re.findall(r"\bMOCK_([A-Z_]+)", (REPO / path).read_text()))
        assert {name.lower() for name in used} <= names, path
