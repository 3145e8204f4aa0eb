"""Credentials: lenient (any well-formed header), strict (key/secret and RS256 signature), off."""

from __future__ import annotations

import base64
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .support import sms

APP_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


def _key_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, public


@pytest.fixture(scope="module")
def keys():
    return _key_pair(), _key_pair()


@pytest.fixture
def public_key_file(tmp_path, keys):
    path = tmp_path / "public.pem"
    path.write_bytes(keys[0][1])
    return str(path)


def token(private_key, **claims):
    now = int(time.time())
    body = {"application_id": APP_ID, "iat": now, "jti": str(uuid.uuid4()), **claims}
    body = {k: v for k, v in body.items() if v is not None}
    return "Bearer " + jwt.encode(body, private_key, algorithm="RS256")


def basic(key, secret):
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


async def _send(client, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await client.post("/beta/messages", json=sms(), headers=headers)
    return response.status, await response.json()


@pytest.mark.parametrize("header", [
    basic("anything", "goes"),
    "Bearer " + jwt.encode({"application_id": "x", "iat": 1, "jti": "y"}, "not-rsa-just-a-long-enough-hmac-key",
                           algorithm="HS256"),
])
async def test_lenient_accepts_any_well_formed_credentials(mock, header):
    assert (await _send(mock, header))[0] == 202


@pytest.mark.parametrize(("header", "detail_part"), [
    (None, "missing"),
    ("", "missing"),
    ("Token abc", "Basic"),
    ("Basic !!!not-base64", "base64"),
    ("Basic " + base64.b64encode(b"no-colon").decode(), "api_key:api_secret"),
    ("Bearer not.a.jwt", "Invalid Token"),
])
async def test_lenient_refuses_malformed_headers_with_401(mock, header, detail_part):
    status, problem = await _send(mock, header)
    assert status == 401
    assert problem["title"] == "Invalid credentials supplied" and detail_part in problem["detail"]
    assert {"type", "title", "detail", "instance"} <= set(problem)


async def test_off_needs_no_credentials(make_mock):
    client = await make_mock(auth="off")
    assert (await _send(client, None))[0] == 202


async def test_strict_basic_checks_key_and_secret(make_mock):
    client = await make_mock(auth="strict", api_key="abcd1234", api_secret="s3cr3t")
    assert (await _send(client, basic("abcd1234", "s3cr3t")))[0] == 202
    assert (await _send(client, basic("abcd1234", "wrong")))[0] == 401
    assert (await _send(client, basic("other", "s3cr3t")))[0] == 401


async def test_strict_jwt_signed_by_the_right_key_passes(make_mock, keys, public_key_file):
    client = await make_mock(auth="strict", public_key=public_key_file)
    assert (await _send(client, token(keys[0][0])))[0] == 202
    assert (await _send(client, token(keys[0][0], exp=int(time.time()) + 60)))[0] == 202


async def test_strict_jwt_signed_by_a_wrong_key_is_401(make_mock, keys, public_key_file):
    client = await make_mock(auth="strict", public_key=public_key_file)
    status, problem = await _send(client, token(keys[1][0]))
    assert status == 401 and "Signature" in problem["detail"]


async def test_strict_expired_jwt_is_401(make_mock, keys, public_key_file):
    client = await make_mock(auth="strict", public_key=public_key_file)
    past = int(time.time()) - 3600
    status, problem = await _send(client, token(keys[0][0], iat=past - 60, exp=past))
    assert status == 401 and "expired" in problem["detail"].lower()


async def test_strict_jwt_without_exp_expires_15_minutes_after_iat(make_mock, keys, public_key_file):
    client = await make_mock(auth="strict", public_key=public_key_file)
    assert (await _send(client, token(keys[0][0], iat=int(time.time()) - 14 * 60)))[0] == 202
    assert (await _send(client, token(keys[0][0], iat=int(time.time()) - 16 * 60)))[0] == 401


async def test_strict_jwt_needs_its_claims(make_mock, keys, public_key_file):
    client = await make_mock(auth="strict", public_key=public_key_file)
    status, problem = await _send(client, token(keys[0][0], jti=None))
    assert status == 401 and "jti" in problem["detail"]


async def test_strict_jwt_application_id_must_match_when_configured(make_mock, keys, public_key_file):
    client = await make_mock(auth="strict", public_key=public_key_file, application_id=APP_ID)
    assert (await _send(client, token(keys[0][0])))[0] == 202
    assert (await _send(client, token(keys[0][0], application_id="someone-else")))[0] == 401


async def test_strict_refuses_hs256_tokens(make_mock, public_key_file):
    client = await make_mock(auth="strict", public_key=public_key_file)
    forged = "Bearer " + jwt.encode({"application_id": APP_ID, "iat": int(time.time()), "jti": "x"},
                                    "a-forged-hmac-secret-of-32-bytes-or-more", algorithm="HS256")
    assert (await _send(client, forged))[0] == 401


async def test_control_api_is_not_behind_api_credentials(make_mock):
    client = await make_mock(auth="strict", api_key="k", api_secret="s")
    assert (await client.get("/_mock/health")).status == 200
