"""Settings: flags > MOCK_* environment > config file > defaults; bad values are refused clearly."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from mockserver.cli import build_parser, shown_default
from mockserver.config import FILE_ONLY, ConfigError, Settings, load_settings, setting_names


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
        if name in FILE_ONLY:
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


# -- one schema (schemas/control/settings.json) for every way a setting comes -------------------------------
def _file(tmp_path, text: str, name: str = "mock.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _refusal(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_settings(_flags("--config", _file(tmp_path, text)), environ={})
    return str(raised.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("port = 81.5", "port: must be an integer (got 81.5, in config file "),
    ("port = true", "port: must be an integer (got true, in config file "),
    ("status_url = 5", "status_url: must be a string or null (got 5, in config file "),
    ('status_url = "notaurl"', 'status_url: must be an http or https URL (got "notaurl", in config file '),
    ("profiles = 3", "profiles: must be an object (got 3, in config file "),
    ("public_key = 5", "public_key: must be a string or null (got 5, in config file "),
    ('[profiles.sms]\njitter = "lots"', 'profiles.sms.jitter: must be a number (got "lots", in config file '),
    ("[profiles.pigeon]",
     "profiles.pigeon: is not a channel (profiles are for sms, mms, rcs, whatsapp, messenger, viber_service_msg)"),
    ("[profiles.sms.delays]\nread = 5", "profiles.sms.delays.read: is not a status of sms"),
    ('[[rules]]\noutcome = "undeliverable"',
     "rules.0.error_code: is required when outcome is rejected or undeliverable (in config file "),
    ('[[rules]]\noutcome = "boom"', 'rules.0.outcome: must be one of: delivered, read, rejected, undeliverable'),
    ('[[rules]]\noutcome = "slow"\nmatch = {to_pattern = "(["}', "rules.0.match.to_pattern: is not a valid RE2"),
    ('[[rules]]\nid = "a"\noutcome = "slow"\n[[rules]]\nid = "a"\noutcome = "read"',
     "rules.1.id: is already the id of rules.0"),
    ('start_time = "2020-02-30T00:00:00Z"', "start_time: is not a valid date-time: day is out of range"),
    ("prot = 1", "prot: is not a setting (got 1, in config file "),
])
def test_a_bad_config_file_value_is_refused_naming_it(tmp_path, text, expected):
    assert expected in _refusal(tmp_path, text)


def test_an_integral_float_port_in_a_file_is_the_int():
    settings = load_settings({"port": 8080.0, "time_scale": 1}, environ={})
    assert (settings.port, type(settings.port), settings.time_scale, type(settings.time_scale)) == (
        8080, int, 1.0, float)


def test_good_config_file_profiles_and_rules_load(tmp_path):
    settings = load_settings(_flags("--config", _file(tmp_path, (
        '[profiles.messenger.delays]\nread = 30\n[[rules]]\noutcome = "rejected"\nerror_code = 1020\n'
        'match = {to_pattern = "4420.*"}\n'))), environ={})
    assert settings.profiles == {"messenger": {"delays": {"read": 30}}}
    assert settings.rules[0]["match"] == {"to_pattern": "4420.*"}


@pytest.mark.parametrize(("name", "text", "body", "reason"), [
    ("status_url", "notaurl", "notaurl", "must be an http or https URL"),
    ("inbound_url", "ftp://x/in", "ftp://x/in", "must be an http or https URL"),
    ("time_scale", "0", 0, "must be greater than 0"),
    ("time_scale", "fast", "fast", "must be a number"),
    ("demo_mode", "perhaps", "perhaps", "must be a boolean"),
    ("clock", "sundial", "sundial", "must be one of: real, manual"),
])
async def test_flag_env_file_and_put_config_refuse_a_value_alike(mock, tmp_path, name, text, body, reason):
    config = _file(tmp_path, json.dumps({name: body}), "mock.json")
    ways = [(_flags(), {"MOCK_" + name.upper(): text}), (_flags("--config", config), {})]
    if not isinstance(getattr(Settings(), name), bool):  # a boolean flag takes no value: --demo-mode, --no-demo-mode
        ways.append((_flags("--" + name.replace("_", "-"), text), {}))
    for flags, environ in ways:
        with pytest.raises(ConfigError, match=f"^{re.escape(name)}: {re.escape(reason)} "):
            load_settings(flags, environ=environ)
    response = await mock.put("/_mock/config", json={name: body})
    assert response.status == 400
    assert (await response.json())["invalid_parameters"] == [{"name": name, "reason": reason}]


def test_an_empty_flag_or_variable_unsets_a_setting_without_default():
    settings = load_settings(_flags("--status-url", ""), environ={"MOCK_SIGNATURE_SECRET": "", "MOCK_DEMO_MODE": ""})
    assert (settings.status_url, settings.signature_secret, settings.demo_mode) == (None, None, False)


@pytest.mark.parametrize(("flags", "expected"), [
    (("--start-time", "tomorrow"), 'start_time: must be an ISO 8601 date-time with Z or an offset, e.g. '
                                   '2020-01-01T14:00:00Z (got "tomorrow", from --start-time)'),
    (("--public-key", "missing.pem"), 'public_key: cannot be read: No such file or directory (got "missing.pem", '
                                      'from --public-key)'),
])
def test_a_bad_flag_is_refused_naming_the_flag(flags, expected):
    with pytest.raises(ConfigError) as raised:
        load_settings(_flags(*flags), environ={})
    assert str(raised.value) == expected


@pytest.mark.parametrize(("content", "reason"), [
    (b"not a key\n", "is not a PEM RSA key"),
    (b"\xff\xfe\x00", "is not a PEM file (it is not text)"),
])
def test_a_public_key_file_that_is_no_key_is_refused(tmp_path, content, reason):
    key = tmp_path / "key.pem"
    key.write_bytes(content)
    with pytest.raises(ConfigError, match=re.escape(f"public_key: {reason} (got ")):
        load_settings({}, environ={"MOCK_PUBLIC_KEY": str(key)})


async def test_put_config_refuses_read_delays_for_sms_but_not_for_messenger(mock):
    response = await mock.put("/_mock/config", json={"profiles": {"sms": {"delays": {"read": 5}}}})
    assert response.status == 400
    assert [p["name"] for p in (await response.json())["invalid_parameters"]] == ["profiles.sms.delays.read"]
    response = await mock.put("/_mock/config", json={"profiles": {"messenger": {"delays": {"read": 5}}}})
    assert response.status == 200
    assert (await response.json())["profiles"]["messenger"]["delays"]["read"] == 5


async def test_clock_advance_names_an_unknown_key_as_the_reason(mock):
    response = await mock.post("/_mock/clock/advance", json={"seconds": 1, "extra": 1})
    assert response.status == 400
    assert (await response.json())["invalid_parameters"] == [{"name": "extra", "reason": "is not allowed"}]
    response = await mock.post("/_mock/clock/advance", json={"seconds": 1, "to": "2030-01-01T00:00:00Z"})
    both = [{"name": "", "reason": "must have only one of seconds, to"}]
    assert (await response.json())["invalid_parameters"] == both


def test_help_shows_every_flags_default():
    result = subprocess.run([sys.executable, "-m", "mockserver", "--help"], capture_output=True, text=True,
                            check=True, env={"COLUMNS": "200", "PATH": "", "PYTHONPATH": ":".join(sys.path)})
    options = result.stdout.split("options:")[1]
    blocks = {block.split()[0].rstrip(","): " ".join(block.split()) for block in re.split(r"\n(?=  --)", options)
              if block.startswith("  --")}
    for name in set(setting_names()) - FILE_ONLY:
        flag = "--" + name.replace("_", "-")
        assert f"(default: {shown_default(name)})" in blocks[flag], flag
    assert "(default: 8181)" in blocks["--port"] and "(default: 1)" in blocks["--time-scale"]
    assert "(default: off)" in blocks["--demo-mode"] and "(default: info)" in blocks["--log-level"]
