"""TLS for Headwater's black-box tests: throw-away certificates (a CA, a server certificate for
127.0.0.1, client certificates signed by the CA or self-signed), RFC 7858 SPKI pins, and a DNS-over-TLS
client (python's ssl) that can be told to offer no ALPN or only TLS 1.2.

Certificates are made with python3-cryptography (a Debian package) in a test's own temp directory.
"""

import base64
import contextlib
import datetime
import hashlib
import ipaddress
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hwproc import ADDR
from hwwire import read_axfr, tcp_recv, tcp_send

SERVER_NAME = "primary.headwater.test"


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key, path):
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


class Cert:
    """A certificate and its key on disk: cert (PEM), key (PEM), pin (RFC 7858 §4.2), name."""

    def __init__(self, cert, key, cert_path, key_path, name):
        self.cert = cert
        self.key = key
        self.cert_path = Path(cert_path)
        self.key_path = Path(key_path)
        self.name = name

    @property
    def pin(self):
        return spki_pin(self.cert)


def spki_pin(cert):
    """base64(SHA-256(DER SubjectPublicKeyInfo)), as kdig +tls-pin and RFC 7858 §4.2 take it."""
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def _issue(directory, stem, name, issuer=None, ca=False, server=False, dns_names=(), ips=(), days=30):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    issuer_name = issuer.cert.subject if issuer else _name(name)
    b = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    sans = [x509.DNSName(n) for n in dns_names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                          content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False, encipher_only=False,
                                          decipher_only=False), critical=True)
    else:
        usage = x509.oid.ExtendedKeyUsageOID.SERVER_AUTH if server else x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH
        b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    cert = b.sign(issuer.key if issuer else key, hashes.SHA256())
    directory = Path(directory)
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, key_path)
    return Cert(cert, key, cert_path, key_path, name)


class Pki:
    """A throw-away CA in `directory` and what it signs."""

    def __init__(self, directory, ca_name="Headwater test CA"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = _issue(self.dir, "ca", ca_name, ca=True)

    def server(self, stem="server", name=SERVER_NAME, ips=(ADDR,), days=30):
        """A server certificate for `name` and the addresses (what a secondary checks, strict TLS), valid
        from five minutes ago for `days` days."""
        return _issue(self.dir, stem, name, issuer=self.ca, server=True, dns_names=[name], ips=ips, days=days)

    def client(self, stem, name):
        """A client certificate naming `name` (subjectAltName and CN), signed by this CA."""
        return _issue(self.dir, stem, name, issuer=self.ca, dns_names=[name])

    def self_signed_client(self, stem, name):
        """A client certificate no CA signed: good for a pin, never for a name."""
        return _issue(self.dir, stem, name, dns_names=[name])


# ---- a DNS-over-TLS client --------------------------------------------------------------------
def client_context(ca=None, alpn=("dot",), tls12_only=False, cert=None, verify=True):
    """An ssl.SSLContext for DNS over TLS: ALPN `alpn` (None: no ALPN extension at all), TLS 1.3 at
    least unless tls12_only (then at most TLS 1.2), the server checked against `ca` (a Cert or path)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if tls12_only:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if verify and ca is not None:
        ctx.load_verify_locations(str(ca.cert_path if isinstance(ca, Cert) else ca))
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert_path), str(cert.key_path))
    return ctx


def tls_connect(port, ctx, where=ADDR, server_name=SERVER_NAME, timeout=10.0, source=None, rcvbuf=None):
    """A TLS connection (handshake done) to where:port, from `source` when given, with a receive buffer of
    `rcvbuf` octets when given; raises ssl.SSLError when it is refused."""
    raw = socket.socket(socket.AF_INET6 if ":" in where else socket.AF_INET, socket.SOCK_STREAM)
    try:
        if rcvbuf:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if source:
            raw.bind((source, 0))
        raw.settimeout(timeout)
        raw.connect((where, port))
    except Exception:
        raw.close()
        raise
    try:
        return ctx.wrap_socket(raw, server_hostname=server_name)
    except Exception:
        raw.close()
        raise


def tls_axfr(port, zone, ctx, where=ADDR, timeout=30.0):
    """A full AXFR over a fresh TLS connection; returns [XfrMessage]."""
    with contextlib.closing(tls_connect(port, ctx, where=where, timeout=timeout)) as s:
        return read_axfr(s, zone)[1]


def tls_exchange(port, wire, ctx, where=ADDR, timeout=10.0):
    """One query over a fresh TLS connection; returns the answer's wire form."""
    with contextlib.closing(tls_connect(port, ctx, where=where, timeout=timeout)) as s:
        tcp_send(s, wire)
        return tcp_recv(s)
