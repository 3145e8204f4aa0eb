"""Settings: flags > MOCK_* environment > config file > defaults; bad values are refused clearly."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mockserver.cli import build_parser
from mockserver.config import ConfigError, Settings, load_settings, setting_names


def _flags(*argv: str) -> dict:
    return vars(build_parser().parse_args(list(argv)))


def test_defaults_serve_on_localhost_with_lenient_auth():
    settings = load_settings(_flags(), environ={})
    assert settings == Settings()
    assert (settings.host, settings.port, settings.auth, settings.clock) == ("127.0.0.1", 8181, "lenient", "real")


def test_precedence_flag_over_env_over_file(tmp_path):
    config = tmp_path / "mock.toml"
    config.write_text('port = 9001\nstatus_url = "http://file/status"\ninbound_url = "http://file/in"\n'
                      'seed = 5\n[[rules]]\noutcome = "rejected"\nerror_code = 1000\nmatch = {to = "1"}\n')
    environ = {"MOCK_PORT": "9002", "MOCK_STATUS_URL": "http://env/status", "MOCK_CONFIG": str(config)}
    settings = load_settings(_flags("--port", "9003"), environ=environ)
    assert settings.port == 9003
    assert settings.status_url == "http://env/status"
    assert settings.inbound_url == "http://file/in"
    assert settings.seed == 5
    assert settings.rules[0]["error_code"] == 1000


def test_json_config_file(tmp_path):
    config = tmp_path / "mock.json"
    config.write_text(json.dumps({"clock": "manual", "time_scale": 0.5, "demo_mode": True}))
    settings = load_settings(_flags("--config", str(config)), environ={})
    assert (settings.clock, settings.time_scale, settings.demo_mode) == ("manual", 0.5, True)


@pytest.mark.parametrize(("environ", "message"), [
    ({"MOCK_PORT": "eighty"}, "port"),
    ({"MOCK_CLOCK": "sundial"}, "clock"),
    ({"MOCK_DEMO_MODE": "perhaps"}, "demo_mode"),
    ({"MOCK_TIME_SCALE": "0"}, "time_scale"),
    ({"MOCK_WEBHOOK_TIMEOUT": "-1"}, "webhook_timeout"),
    ({"MOCK_HISTORY_LIMIT": "0"}, "history_limit"),
    ({"MOCK_PORT": "70000"}, "port"),
])
def test_bad_environment_values_are_refused(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(_flags(), environ=environ)


def test_unknown_config_file_key_is_refused(tmp_path):
    config = tmp_path / "mock.json"
    config.write_text('{"prot": 1}')
    with pytest.raises(ConfigError, match="prot"):
        load_settings(_flags("--config", str(config)), environ={})


def test_boolean_flag_and_env():
    assert load_settings(_flags("--demo-mode"), environ={}).demo_mode is True
    assert load_settings(_flags(), environ={"MOCK_DEMO_MODE": "true"}).demo_mode is True
    assert load_settings(_flags("--no-demo-mode"), environ={"MOCK_DEMO_MODE": "1"}).demo_mode is False


def test_help_documents_every_setting():
    result = subprocess.run([sys.executable, "-m", "mockserver", "--help"], capture_output=True, text=True,
                            check=True)
    for name in setting_names():
        if name in ("rules", "profiles"):
            continue
        assert "--" + name.replace("_", "-") in result.stdout, name
        assert "MOCK_" + name.upper() in result.stdout.replace("\n", "").replace(" ", ""), name


def test_bad_setting_exits_with_a_clear_message():
    result = subprocess.run([sys.executable, "-m", "mockserver", "--port", "x"], capture_output=True, text=True,
                            env={"PATH": "", "PYTHONPATH": ":".join(sys.path)})
    assert result.returncode != 0
    assert "port" in result.stderr and "Traceback" not in result.stderr


async def test_config_endpoint_merges_changes(mock):
    before = await (await mock.get("/_mock/config")).json()
    assert before["status_url"] is None and before["time_scale"] == 1.0
    response = await mock.put("/_mock/config", json={"inbound_url": "http://127.0.0.1:9/in",
                                                      "profiles": {"sms": {"delays": {"delivered": 9}}}})
    after = await response.json()
    assert response.status == 200
    assert after["inbound_url"] == "http://127.0.0.1:9/in" and after["status_url"] is None
    assert after["profiles"]["sms"]["delays"] == {"submitted": 0.4, "delivered": 9}


async def test_bad_config_change_is_a_problem(mock):
    response = await mock.put("/_mock/config", json={"time_scale": -1, "colour": "red"})
    assert response.status == 400
    names = sorted(p["name"] for p in (await response.json())["invalid_parameters"])
    assert names == ["colour", "time_scale"]


async def test_control_token_guards_the_control_api_but_not_the_emulated_one(make_mock):
    client = await make_mock(control_token="t0k3n")
    assert (await client.get("/_mock/health")).status == 401
    assert (await client.get("/_mock/health", headers={"X-Mock-Token": "t0k3n"})).status == 200
    assert (await client.get("/_mock/health", params={"token": "t0k3n"})).status == 200
    assert (await client.get("/", headers={"X-Mock-Token": "wrong"})).status == 401
    response = await client.post("/beta/messages", json={}, headers={"Authorization": "Basic eDp5"})
    assert response.status == 400


async def test_clock_mode_can_be_switched_at_run_time(make_mock):
    client = await make_mock(clock="manual")
    response = await client.put("/_mock/config", json={"clock": "real", "time_scale": 0.001})
    assert (await response.json())["clock"] == "real"
    clock = await (await client.get("/_mock/clock")).json()
    assert clock["mode"] == "real" and clock["time_scale"] == 0.001


async def test_bad_profile_is_a_problem_not_a_crash(mock):
    response = await mock.put("/_mock/config", json={"profiles": {"fax": {}, "sms": {"jitter": 2}}})
    assert response.status == 400
    names = sorted(p["name"] for p in (await response.json())["invalid_parameters"])
    assert names == ["profiles.fax", "profiles.sms.jitter"]
