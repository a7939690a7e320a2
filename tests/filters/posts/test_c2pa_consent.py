"""C2PA assertions read from signed test images, offline: a remote manifest is never fetched."""

import io

import c2pa
import pytest

from curation.testing.c2pa_images import CAPTURE, MANIFEST_SETTINGS, signed_image, signing_chain
from curation.testing.image_server import ImageServer, Response, synthetic_image
from filters.posts.c2pa_consent import c2pa_refusal, offline_context

JPEG = synthetic_image(96, 72, seed=9, fmt="JPEG")
PNG = synthetic_image(96, 72, seed=9)


@pytest.mark.parametrize(
    ("body", "kind", "uses", "label", "refused"),
    [
        (JPEG, "jpg", {"c2pa.ai_training": "notAllowed"}, "c2pa.training-mining", "c2pa.ai_training"),
        (PNG, "png", {"c2pa.data_mining": "notAllowed"}, "c2pa.training-mining", "c2pa.data_mining"),
        (PNG, "png", {"cawg.ai_generative_training": "notAllowed"}, "cawg.training-mining",
         "cawg.ai_generative_training"),
        (JPEG, "jpg", {"c2pa.ai_inference": "notAllowed", "c2pa.ai_training": "allowed"},
         "c2pa.training-mining", None),
    ],
)
def test_signed_images_are_read_for_their_training_assertions(body, kind, uses, label, refused):
    evidence = c2pa_refusal(signed_image(body, uses, label), kind)
    assert (evidence is None) == (refused is None)
    if refused:
        assert f"{refused}: notAllowed" in evidence and "signed by aesthetic-curation tests" in evidence


def test_an_image_without_a_manifest_is_not_read():
    assert c2pa_refusal(JPEG, "jpg") is None


def remote_manifest_image(url: str) -> tuple[bytes, bytes]:
    """(image that only points at its manifest at `url`, the manifest), with a notAllowed assertion."""
    chain, key, _ = signing_chain()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None))
    manifest = {"claim_generator_info": [{"name": "tests", "version": "1"}], "format": "image/jpeg",
                "assertions": [
                    {"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created",
                                                                    "digitalSourceType": CAPTURE}]}},
                    {"label": "c2pa.training-mining",
                     "data": {"entries": {"c2pa.ai_training": {"use": "notAllowed"}}}}]}
    with c2pa.Builder(manifest, context=c2pa.Context.from_dict(MANIFEST_SETTINGS)) as builder:
        builder.set_remote_url(url)
        builder.set_no_embed()
        out = io.BytesIO()
        store = builder.sign(signer, "image/jpeg", io.BytesIO(JPEG), out)
    return out.getvalue(), store


def test_a_remote_manifest_is_never_fetched():
    with ImageServer() as server:
        image, store = remote_manifest_image(server.url("/manifest.c2pa"))
        server.route("/manifest.c2pa", Response(body=store, content_type="application/c2pa"))
        assert c2pa_refusal(image, "jpg") is None, "only embedded manifests are read"
        with pytest.raises(c2pa.C2paError):
            c2pa.Reader("image/jpeg", io.BytesIO(image), context=offline_context())
        assert server.counts["/manifest.c2pa"] == 0, "the offline settings keep c2pa from fetching it"
