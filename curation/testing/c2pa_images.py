"""Images carrying a signed C2PA manifest with a training-and-data-mining assertion, made offline.

c2pa-python signs only with an X.509 certificate chain, and its own test certificates are not
shipped in the wheel, so a throwaway chain is made here with `cryptography`: an ES256 test CA and an
end-entity certificate for signing (digitalSignature, emailProtection), valid for a day. Readers
that check trust would not trust it; the consent check reads the assertion without trust lists.

    jpeg = signed_image(synthetic_image(96, 72, fmt="JPEG"), {"c2pa.ai_training": "notAllowed"})
"""

from __future__ import annotations

import datetime
import functools
import io

MANIFEST_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}}
CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
MIME_TYPES = {b"\xff\xd8": "image/jpeg", b"\x89P": "image/png"}


@functools.cache
def test_signing_chain() -> tuple[bytes, bytes]:
    """(certificate chain PEM: signer then CA, signer's private key PEM), made once per process."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "aesthetic-curation tests")])

    def certificate(subject: str, key, issuer: x509.Name, issuer_key, ca: bool) -> x509.Certificate:
        usage = dict.fromkeys(("digital_signature", "content_commitment", "key_encipherment",
                               "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
                               "encipher_only", "decipher_only"), False)
        usage |= {"key_cert_sign": True, "crl_sign": True} if ca else {"digital_signature": True}
        builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
                   .add_extension(x509.KeyUsage(**usage), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                                  critical=False))
        if not ca:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            ).add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                            critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("test CA", ca_key, name("test CA"), ca_key, ca=True)
    signer = certificate("test signer", key, ca.subject, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    chain = signer.public_bytes(pem) + ca.public_bytes(pem)
    private = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return chain, private


def signed_image(body: bytes, uses: dict[str, str], label: str = "c2pa.training-mining") -> bytes:
    """`body` (a JPEG or PNG) with an embedded, signed manifest whose `label` assertion gives each
    entry its use, e.g. {"c2pa.ai_training": "notAllowed", "c2pa.ai_inference": "allowed"}."""
    import c2pa

    mime = MIME_TYPES[body[:2]]
    chain, private = test_signing_chain()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private, None))
    manifest = {
        "claim_generator_info": [{"name": "aesthetic-curation tests", "version": "1"}],
        "title": "test image",
        "format": mime,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created",
                                                            "digitalSourceType": CAPTURE}]}},
            {"label": label, "data": {"entries": {entry: {"use": use} for entry, use in uses.items()}}},
        ],
    }
    context = c2pa.Context.from_dict(MANIFEST_SETTINGS)
    out = io.BytesIO()
    with c2pa.Builder(manifest, context=context) as builder:
        builder.sign(signer, mime, io.BytesIO(body), out)
    return out.getvalue()
