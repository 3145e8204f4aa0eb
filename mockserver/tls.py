"""TLS for the mock: the user's certificate and key, or a local CA and a localhost certificate made on demand."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .config import ConfigError, Settings

DEFAULT_DIR = "mockserver-tls"
CA_CERT, CA_KEY = "ca.pem", "ca-key.pem"
SERVER_CERT, SERVER_KEY = "server.pem", "server-key.pem"
SERVER_DNS_NAMES = ("localhost",)
SERVER_IPS = ("127.0.0.1", "::1")
CA_LIFETIME = datetime.timedelta(days=3650)
SERVER_LIFETIME = datetime.timedelta(days=397)  # within what browsers and Apple clients accept for a leaf
PrivateKey = ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class ServerTls:
    context: ssl.SSLContext
    cert: Path
    ca: Path | None = None  # the CA to trust, when the mock made its own


def server_tls(settings: Settings) -> ServerTls | None:
    """The TLS the settings ask for (None: plain http); raises ConfigError for unusable settings or files."""
    if settings.tls_self_signed:
        if settings.tls_cert or settings.tls_key:
            raise ConfigError("tls_self_signed makes its own certificate: leave tls_cert and tls_key unset")
        directory = Path(settings.tls_dir or DEFAULT_DIR)
        try:
            cert, key, ca = make_self_signed(directory)
        except OSError as exc:
            raise ConfigError(f"cannot keep the local CA in {directory}: {exc.strerror}; "
                              "point tls_dir at a writable folder") from exc
        return ServerTls(_context(cert, key), cert, ca)
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise ConfigError("tls_cert and tls_key go together: give both (PEM files) or neither")
    if not settings.tls_cert:
        return None
    cert, key = Path(settings.tls_cert), Path(settings.tls_key)
    return ServerTls(_context(cert, key), cert)


def _context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot use the TLS certificate {cert} with the key {key}: {exc}") from exc
    return context


def make_self_signed(directory: Path) -> tuple[Path, Path, Path]:
    """(certificate, key, CA certificate) in `directory`: the local CA is kept and reused, so trusting it once
    lasts; the localhost certificate it signs is made anew on every start."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _load_or_make_ca(directory)
    key = ec.generate_private_key(ec.SECP256R1())
    _write_key(directory / SERVER_KEY, key)
    (directory / SERVER_CERT).write_bytes(_pem(_server_certificate(key, ca_key, ca_cert)))
    return directory / SERVER_CERT, directory / SERVER_KEY, directory / CA_CERT


def _load_or_make_ca(directory: Path) -> tuple[PrivateKey, x509.Certificate]:
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    if cert_path.is_file() and key_path.is_file():
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        except ValueError as exc:
            raise ConfigError(f"the local CA in {directory} is unreadable ({exc}); delete {CA_CERT} and "
                              f"{CA_KEY} to make a new one") from exc
        if isinstance(key, ec.EllipticCurvePrivateKey) and cert.not_valid_after_utc > _now():
            return key, cert
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _ca_certificate(key)
    _write_key(key_path, key)
    cert_path.write_bytes(_pem(cert))
    return key, cert


def _ca_certificate(key: PrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Messages API mock"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Messages API mock local CA")])
    now = _now()
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))


def _server_certificate(key: PrivateKey, ca_key: PrivateKey, ca_cert: x509.Certificate) -> x509.Certificate:
    names = [x509.DNSName(name) for name in SERVER_DNS_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
    now = _now()
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_DNS_NAMES[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + SERVER_LIFETIME)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))


def _write_key(path: Path, key: PrivateKey) -> None:
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def trust_instructions(ca: Path, port: int) -> str:
    """How to make clients trust the local CA, for the console."""
    ca = ca.resolve()
    return "\n".join([
        f"TLS: the mock serves https with a certificate signed by its own local CA: {ca}",
        "Trust that CA in the client (the two Python variables replace that process's default CA list):",
        f"  Python requests / vonage SDK:   export REQUESTS_CA_BUNDLE={ca}",
        f"  Python ssl (urllib, aiohttp):   export SSL_CERT_FILE={ca}",
        f"  Node.js (adds to its defaults): export NODE_EXTRA_CA_CERTS={ca}",
        f"  curl:                           curl --cacert {ca} https://localhost:{port}/_mock/health",
        f"  Debian/Ubuntu system store:     sudo cp {ca} /usr/local/share/ca-certificates/mockserver-ca.crt"
        " && sudo update-ca-certificates",
    ])
