"""The README runs as pasted: every sh/bash and python block, against a live `mockserver` process on a free port.

Shell blocks run in bash; each curl's status and the keys of its JSON answer must be what the block's `# => STATUS
{...}` comments say. Python blocks run without pytest importable; a block that prints with a `# expected` comment
on each print must print exactly that (`<...>` stands for anything). Blocks that define tests run with pytest (the
plugin from its entry point, the README's `[tool.pytest.ini_options]` as their pyproject.toml). A block marked
`*(not run by the README test: REASON)*` on the line above it is not run; those are counted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mockserver.client import MockClient, MockServer, baseline, restore

from .support import ROOT, running_mock

README = ROOT / "README.md"
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")
NOT_RUN = re.compile(r"^\*\(not run by the README test: (?P<reason>.+)\)\*$")
TLS_MARK = "<!-- readme-test: tls"
RUNNABLE = ("sh", "bash", "python")
KNOWN_LANGUAGES = {*RUNNABLE, "json", "toml", "js", ""}  # a ```py or ```shell block would slip past the test
NOT_RUN_BLOCKS = 5  # the two install commands, Docker, the benchmark, a server start
DEFAULT_ADDRESS = re.compile(r"\b(127\.0\.0\.1|localhost):8181\b")
CURL_STATUS = "curl() { command curl -w '\\n=> %{http_code}\\n' \"$@\"; }\n"  # each answer followed by its status
CURL_EXPECTED = re.compile(r"# => (\d{3})(?: (\{[^}]*\}))?")
PRINT_EXPECTED = re.compile(r"^\s*print\(.*\)\s+# (?P<expected>.+)$")
WITHOUT_PYTEST = "import runpy, sys; sys.modules['pytest'] = None; runpy.run_path('block.py', run_name='__main__')"
TIMEOUT = 60


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int  # of the opening fence
    above: str  # the nearest non-blank line above the fence

    @property
    def not_run(self) -> str | None:
        marked = NOT_RUN.match(self.above)
        return marked["reason"] if marked else None

    @property
    def defines_tests(self) -> bool:
        return re.search(r"^(async )?def test_", self.code, re.MULTILINE) is not None

    @property
    def needs_tls(self) -> bool:
        return self.above.startswith(TLS_MARK)


def readme_blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    blocks, start = [], 0
    while start < len(lines):
        opening = FENCE.match(lines[start])
        if not opening:
            start += 1
            continue
        end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "```")
        indent = len(opening["indent"])
        code = "".join(line[indent:] + "\n" for line in lines[start + 1:end])
        above = next((line.strip() for line in reversed(lines[:start]) if line.strip()), "")
        blocks.append(Block(opening["lang"], code, start + 1, above))
        start = end + 1
    return blocks


BLOCKS = readme_blocks(README.read_text())
RUN = [block for block in BLOCKS if block.lang in RUNNABLE and block.not_run is None]


def environment(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("MOCK_", "PYTEST_"))}, **extra}


def pointed_at(code: str, base_url: str) -> str:
    """The block with the README's default address (127.0.0.1:8181, localhost:8181) moved to the live mock's port."""
    port = base_url.rsplit(":", 1)[1]
    return DEFAULT_ADDRESS.sub(lambda found: f"{found[1]}:{port}", code)


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


# -- the live mocks -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def live() -> Iterator[MockClient]:
    """The mock as the README starts it (`mockserver`, its defaults), on a free port."""
    with running_mock("--log-level", "warning") as mock:
        yield MockClient(mock.base_url)


@pytest.fixture(scope="module")
def live_baseline(live: MockClient) -> dict[str, object]:
    return baseline(live)


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tls")


@pytest.fixture(scope="module")
def tls_mock(tls_dir: Path) -> Iterator[MockServer]:
    """`mockserver --tls-self-signed` with the CA in ./mockserver-tls of the blocks' working directory."""
    with MockServer({"clock": "real", "tls_self_signed": True, "tls_dir": str(tls_dir / "mockserver-tls")}) as server:
        yield server


# -- running the blocks ---------------------------------------------------------------------------
def check_curl_answers(code: str, output: str) -> None:
    """Each curl's status and JSON keys are what the block's `# => STATUS {...}` comments say, in order."""
    expected = CURL_EXPECTED.findall(code)
    parts = re.split(r"\n=> (\d{3})\n", output)
    answers = list(zip(parts[0:-1:2], parts[1::2], strict=True))
    assert len(answers) == len(expected), (expected, output)
    for (body, status), (want_status, want_shape) in zip(answers, expected, strict=True):
        assert status == want_status, body
        assert set(re.findall(r'"(\w+)"\s*:', want_shape)) <= set(json.loads(body)), body


def check_printed(code: str, output: str) -> None:
    """If the block says what its prints print (`print(...)  # expected`), they print exactly that."""
    expected = [found["expected"] for line in code.splitlines() if (found := PRINT_EXPECTED.match(line))]
    if not expected:
        return
    assert len(expected) == code.count("print("), "every print of the block needs its # expected output"
    printed = output.splitlines()
    assert len(printed) == len(expected), output
    for line, want in zip(printed, expected, strict=True):
        pattern = ".+".join(re.escape(piece) for piece in re.split(r"<[^>]+>", want))
        assert re.fullmatch(pattern, line), (line, want)


def run_shell(block: Block, mock: MockClient, cwd: Path) -> None:
    output = run(["bash", "-euo", "pipefail", "-c", CURL_STATUS + pointed_at(block.code, mock.base_url)],
                 cwd, environment())
    check_curl_answers(block.code, output)


def run_python(block: Block, base_url: str, cwd: Path, env: dict[str, str]) -> None:
    (cwd / "block.py").write_text(pointed_at(block.code, base_url))
    output = run([sys.executable, "-c", WITHOUT_PYTEST], cwd, env)
    check_printed(block.code, output)


def run_tests(block: Block, cwd: Path) -> None:
    [pyproject] = [b.code for b in BLOCKS if b.lang == "toml" and "[tool.pytest.ini_options]" in b.code]
    (cwd / "pyproject.toml").write_text(pyproject)
    (cwd / "test_readme_block.py").write_text(block.code)
    output = run([sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider"], cwd, environment())
    tests = len(re.findall(r"^(?:async )?def test_", block.code, re.MULTILINE))
    assert re.search(rf"^{tests} passed in ", output, re.MULTILINE), output


@pytest.mark.parametrize("block", RUN, ids=[f"{block.lang}-line{block.line}" for block in RUN])
def test_the_block_runs_as_pasted(block: Block, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if block.defines_tests:
        run_tests(block, tmp_path)
    elif block.needs_tls:
        server: MockServer = request.getfixturevalue("tls_mock")
        cwd = request.getfixturevalue("tls_dir")
        run_python(block, server.url, cwd, environment(REQUESTS_CA_BUNDLE="./mockserver-tls/ca.pem"))
    else:
        mock: MockClient = request.getfixturevalue("live")
        restore(mock, request.getfixturevalue("live_baseline"))  # each block finds the mock as it started
        if block.lang == "python":
            run_python(block, mock.base_url, tmp_path, environment())
        else:
            run_shell(block, mock, tmp_path)


# -- what is not run, and the first two commands --------------------------------------------------
def test_only_the_marked_blocks_are_not_run_and_they_are_counted() -> None:
    not_run = [block for block in BLOCKS if block.not_run is not None]
    markers = [line for line in README.read_text().splitlines() if NOT_RUN.match(line)]

    assert len(not_run) == len(markers) == NOT_RUN_BLOCKS  # every marker stands right above a block
    assert all(block.lang in RUNNABLE for block in not_run)
    assert len(RUN) + NOT_RUN_BLOCKS == len([block for block in BLOCKS if block.lang in RUNNABLE])
    assert {block.lang for block in BLOCKS} <= KNOWN_LANGUAGES


def test_the_tls_marker_stands_above_one_python_block() -> None:
    marked = [block for block in BLOCKS if block.needs_tls]

    assert [block.lang for block in marked] == ["python"]
    assert README.read_text().count(TLS_MARK) == 1


def test_the_first_two_commands_install_and_run_the_server_then_the_tests() -> None:
    server, tests = BLOCKS[0].code.strip(), BLOCKS[1].code.strip()
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]

    assert (BLOCKS[0].lang, BLOCKS[1].lang) == ("sh", "sh")
    assert " install " in server and server.endswith("&& .venv/bin/mockserver")  # no flags: the defaults
    assert "install -q -e '.[test]'" in tests and any(line.endswith("install -q -e '.[test]'") for line in ci)
    assert tests.endswith("&& python -m pytest -q")
    assert ci[-1] == "python -m pytest -q"  # the README's test command is the one CI runs
