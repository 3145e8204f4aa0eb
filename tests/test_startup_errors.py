"""A setting the mock cannot start with ends `python -m mockserver` with one line on stderr naming it, status 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import free_port

BAD_CONFIG_FILES = {
    "rule regex": ('[[rules]]\noutcome = "slow"\nmatch = {to_pattern = "(["}\n', "rules.0.match.to_pattern:"),
    "jitter word": ('[profiles.sms]\njitter = "lots"\n', "profiles.sms.jitter:"),
    "unknown channel": ("[profiles.pigeon]\n", "profiles.pigeon:"),
    "profiles number": ("profiles = 3\n", "profiles:"),
    "public key number": ("public_key = 5\n", "public_key:"),
}



def _start(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("MOCK_")}
    return subprocess.run([sys.executable, "-m", "mockserver", *argv], capture_output=True, text=True, cwd=cwd,
                          env=environ, timeout=60)


def _assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == 2, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_port_in_use_is_named_with_the_way_out(taken_port, tmp_path):
    line = _assert_refused(_start("--port", str(taken_port), cwd=tmp_path), "port:", str(taken_port), "--port")
    assert "in use" in line


def test_a_start_time_that_is_no_time(tmp_path):
    _assert_refused(_start("--port", str(free_port()), "--start-time", "tomorrow", cwd=tmp_path),
                    "start_time:", "tomorrow", "--start-time")


@pytest.mark.parametrize(("make", "reason"), [
    (lambda folder: folder / "missing.pem", "No such file or directory"),
    (lambda folder: folder, "Is a directory"),
])
def test_a_public_key_that_cannot_be_read(tmp_path, make, reason):
    _assert_refused(_start("--port", str(free_port()), "--public-key", str(make(tmp_path)), cwd=tmp_path),
                    "public_key:", reason)


def test_a_host_that_does_not_resolve(tmp_path):
    _assert_refused(_start("--port", str(free_port()), "--host", "not.a.host.invalid", cwd=tmp_path),
                    "host:", "not.a.host.invalid")


@pytest.mark.parametrize("case", sorted(BAD_CONFIG_FILES))
def test_a_bad_config_file_value(tmp_path, case):
    text, name = BAD_CONFIG_FILES[case]
    config = tmp_path / "mock.toml"
    config.write_text(text)
    _assert_refused(_start("--port", str(free_port()), "--config", str(config), cwd=tmp_path),
                    name, f"in config file {config}")


def test_a_bad_environment_value(tmp_path):
    environ = {**os.environ, "MOCK_PORT": "81.5"}
    result = subprocess.run([sys.executable, "-m", "mockserver"], capture_output=True, text=True, cwd=tmp_path,
                            env=environ, timeout=60)
    _assert_refused(result, "port: must be an integer", "MOCK_PORT")


def test_an_unknown_flag_is_one_line_too(tmp_path):
    _assert_refused(_start("--prot", "1", cwd=tmp_path), "unrecognized arguments: --prot 1", "--help")
