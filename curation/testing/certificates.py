"""Throwaway X.509 certificates for tests, made offline with `cryptography`: one test CA per process,
and end-entity certificates it signs, for TLS servers (serverAuth, with DNS/IP names) or for C2PA
signing (emailProtection). Nothing here is trusted anywhere but in the test that asks for it."""

from __future__ import annotations

import datetime
import functools
import ipaddress


def _name(common: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "aesthetic-curation tests")])


def _usage(ca: bool):
    from cryptography import x509

    flags = dict.fromkeys(("digital_signature", "content_commitment", "key_encipherment",
                           "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
                           "encipher_only", "decipher_only"), False)
    flags |= {"key_cert_sign": True, "crl_sign": True} if ca else {"digital_signature": True}
    return x509.KeyUsage(**flags)


def _builder(subject: str, public_key, issuer, ca: bool):
    from cryptography import x509

    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
            .add_extension(_usage(ca), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


@functools.cache
def test_ca():
    """(CA certificate, CA private key), ES256, made once per process."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return _builder("test CA", key.public_key(), _name("test CA"), ca=True).sign(key, hashes.SHA256()), key


def issue(common_name: str, purpose: str, names: tuple[str, ...] = ()) -> tuple[bytes, bytes, bytes]:
    """(chain PEM: certificate then CA, private key PEM, CA PEM) for `purpose` 'tls' (with DNS or IP
    `names`) or 'c2pa'."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca, ca_key = test_ca()
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if purpose == "tls" else ExtendedKeyUsageOID.EMAIL_PROTECTION
    builder = (_builder(common_name, key.public_key(), ca.subject, ca=False)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                              critical=False))
    if names:
        alternatives = [x509.IPAddress(ipaddress.ip_address(n)) if n.replace(".", "").isdigit()
                        else x509.DNSName(n) for n in names]
        builder = builder.add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
    pem = serialization.Encoding.PEM
    certificate = builder.sign(ca_key, hashes.SHA256())
    private = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return certificate.public_bytes(pem) + ca.public_bytes(pem), private, ca.public_bytes(pem)
