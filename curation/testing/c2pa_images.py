"""Images carrying a signed C2PA manifest with a training-and-data-mining assertion, made offline.

c2pa-python signs only with an X.509 certificate chain, and its own test certificates are not
shipped in the wheel, so a throwaway chain is made with `cryptography` (`curation.testing.certificates`):
an ES256 test CA and an end-entity certificate for signing (digitalSignature, emailProtection),
valid for a day. Readers that check trust would not trust it; the consent check reads the assertion
without trust lists.

    jpeg = signed_image(synthetic_image(96, 72, fmt="JPEG"), {"c2pa.ai_training": "notAllowed"})
"""

from __future__ import annotations

import functools
import io

from curation.testing.certificates import issue

MANIFEST_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}}
CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
MIME_TYPES = {b"\xff\xd8": "image/jpeg", b"\x89P": "image/png"}


@functools.cache
def signing_chain() -> tuple[bytes, bytes, bytes]:
    return issue("test signer", "c2pa")


def signed_image(body: bytes, uses: dict[str, str], label: str = "c2pa.training-mining") -> bytes:
    """`body` (a JPEG or PNG) with an embedded, signed manifest whose `label` assertion gives each
    entry its use, e.g. {"c2pa.ai_training": "notAllowed", "c2pa.ai_inference": "allowed"}."""
    import c2pa

    mime = MIME_TYPES[body[:2]]
    chain, private, _ = signing_chain()
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
