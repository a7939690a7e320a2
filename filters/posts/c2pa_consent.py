"""C2PA training-and-data-mining assertions: an image whose manifest says `notAllowed` is refused.

Checked on the downloaded bytes, before anything is stored. Only images that carry an embedded
manifest store (found by `filters.posts.metadata.c2pa_manifest`, a cheap container scan) are read
with c2pa-python, offline: remote manifests, OCSP and trust lists are never fetched (trust is not
needed to read a wish). Every manifest in the store counts, the active one and its ingredients', so
a reservation made by the creator survives later edits. The entries `c2pa.ai_training`,
`c2pa.ai_generative_training`, `c2pa.data_mining` (and their `cawg.` twins) refuse when their `use`
is `notAllowed`; `ai_inference` does not concern a training set.
"""

from __future__ import annotations

import io
import json
import re
import threading
from typing import Any

from filters.posts.metadata import c2pa_manifest

OFFLINE_SETTINGS = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False, "verify_trust": False,
                               "verify_timestamp_trust": False}}
TRAINING_LABEL = re.compile(r"(c2pa|cawg)\.training-mining(\.v\d+)?$")
IGNORED_ENTRIES = ("ai_inference",)
MIME_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}
_context: Any = None
_context_lock = threading.Lock()


def training_refusal(store: dict) -> str | None:
    """Evidence of the first `notAllowed` training/mining entry in a C2PA manifest store (the
    Reader's JSON), or None."""
    for manifest_label, manifest in (store.get("manifests") or {}).items():
        for assertion in manifest.get("assertions") or []:
            label = str(assertion.get("label", ""))
            if not TRAINING_LABEL.match(label):
                continue
            entries = (assertion.get("data") or {}).get("entries") or {}
            for entry, value in entries.items():
                if entry.split(".")[-1] in IGNORED_ENTRIES or not isinstance(value, dict):
                    continue
                if value.get("use") == "notAllowed":
                    signer = (manifest.get("signature_info") or {}).get("issuer", "unknown issuer")
                    return f"{label} {entry}: notAllowed (manifest {manifest_label}, signed by {signer})"
    return None


def offline_context() -> Any:
    """One c2pa Context per process with every network fetch switched off."""
    global _context
    with _context_lock:
        if _context is None:
            import c2pa

            _context = c2pa.Context.from_dict(OFFLINE_SETTINGS)
        return _context


def c2pa_refusal(data: bytes, kind: str) -> str | None:
    """Evidence when the image's embedded C2PA manifests refuse training or mining, else None. A
    manifest c2pa cannot read states nothing, so it refuses nothing."""
    if c2pa_manifest(data) is None:
        return None
    import c2pa

    try:
        mime = MIME_TYPES.get(kind, "image/jpeg")
        with c2pa.Reader(mime, io.BytesIO(data), context=offline_context()) as reader:
            store = json.loads(reader.json())
    except (c2pa.C2paError, ValueError):
        return None
    return training_refusal(store)
