"""AI-generation evidence in image metadata.

Signals, strongest first:
- PNG text chunks: A1111/Forge/SD.Next `parameters` (`Steps: .., Sampler: ..`), ComfyUI `prompt`
  (node graph with `class_type`) or `workflow` (`nodes`), NovelAI (`Software: NovelAI`, `Comment`
  JSON with sampler settings), InvokeAI (`invokeai_metadata`, `sd-metadata`, `Dream`), Fooocus;
- JPEG/WebP EXIF: A1111 parameters in `UserComment`, and `Software` naming a generator;
- the IPTC digital source type `trainedAlgorithmicMedia` (in XMP or a C2PA manifest).
A C2PA manifest (PNG `caBX` chunk, JPEG APP11 JUMBF box labelled `c2pa`, WebP `C2PA` chunk) is
recorded in `c2pa_manifest`; cameras and editors sign too, so on its own it is not AI evidence.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from curation.schema import with_bookkeeping
from curation.stage import reject_where

GENERATOR_SOFTWARE = (
    "stable diffusion",
    "stablediffusion",
    "automatic1111",
    "novelai",
    "midjourney",
    "dall-e",
    "dall·e",
    "dalle",
    "comfyui",
    "invokeai",
    "fooocus",
    "sd.next",
    "diffusionbee",
    "draw things",
    "dreamstudio",
    "nightcafe",
    "leonardo.ai",
    "adobe firefly",
    "ideogram",
    "niji・journey",
    "nijijourney",
)
AI_SOURCE_TYPES = (b"trainedAlgorithmicMedia", b"compositeWithTrainedAlgorithmicMedia")
EXIF_SOFTWARE, EXIF_IFD, EXIF_USER_COMMENT = 0x0131, 0x8769, 0x9286
RESULT_SCHEMA = {"ai_metadata": pl.Utf8, "ai_metadata_detail": pl.Utf8, "c2pa_manifest": pl.Boolean}


def short(text: object, limit: int = 200) -> str:
    return " ".join(str(text).split())[:limit]


def as_json(text: object) -> object:
    try:
        return json.loads(text) if isinstance(text, str | bytes) else None
    except ValueError:
        return None


def text_chunk_signal(info: dict) -> tuple[str, str] | None:
    """(generator, detail) from PNG text chunks (or any `info` dict of key -> text)."""
    parameters = info.get("parameters")
    if isinstance(parameters, str) and ("Steps:" in parameters or "sui_image_params" in parameters):
        return "a1111", short(parameters)
    prompt, workflow = as_json(info.get("prompt")), as_json(info.get("workflow"))
    if isinstance(prompt, dict) and any(isinstance(n, dict) and "class_type" in n for n in prompt.values()):
        return "comfyui", "prompt graph with " + str(len(prompt)) + " nodes"
    if isinstance(workflow, dict) and "nodes" in workflow:
        return "comfyui", "workflow with " + str(len(workflow.get("nodes") or [])) + " nodes"
    comment = as_json(info.get("Comment"))
    software, source = str(info.get("Software", "")), str(info.get("Source", ""))
    if (
        "novelai" in software.lower()
        or "novelai" in source.lower()
        or (isinstance(comment, dict) and {"steps", "sampler", "uc"} <= comment.keys())
    ):
        return "novelai", short(f"Software: {software}; Source: {source}")
    for key in ("invokeai_metadata", "invokeai_graph", "sd-metadata", "Dream"):
        if key in info:
            return "invokeai", f"{key}: {short(info[key], 150)}"
    if "fooocus_scheme" in info or "Fooocus" in str(info.get("parameters", "")):
        return "fooocus", short(info.get("parameters", "fooocus_scheme"))
    return None


def user_comment_text(value: object) -> str:
    """Decode an EXIF UserComment (8-byte charset prefix, then the text)."""
    if not isinstance(value, bytes):
        return str(value or "")
    prefix, payload = value[:8], value[8:]
    if prefix.startswith(b"UNICODE"):
        for encoding in ("utf-16-be", "utf-16-le"):
            text = payload.decode(encoding, errors="ignore")
            if "Steps" in text:
                return text
        return payload.decode("utf-16-be", errors="ignore")
    return payload.decode("utf-8", errors="ignore")


def exif_signal(image: object) -> tuple[str, str] | None:
    exif = image.getexif()
    comment = user_comment_text(exif.get_ifd(EXIF_IFD).get(EXIF_USER_COMMENT))
    if "Steps:" in comment and "Sampler" in comment:
        return "a1111", short(comment)
    software = str(exif.get(EXIF_SOFTWARE) or "")
    if any(name in software.lower() for name in GENERATOR_SOFTWARE):
        return "exif_software", short(software)
    return None


def png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    position = 8
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        yield kind, data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IEND":
            return


def jpeg_app_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(marker, payload) of each segment before the image data starts."""
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xDA:
            return
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        yield marker, data[position + 4 : position + 2 + length]
        position += 2 + length


def riff_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    position = 12
    while position + 8 <= len(data):
        kind, length = (
            data[position : position + 4],
            struct.unpack("<I", data[position + 4 : position + 8])[0],
        )
        yield kind, data[position + 8 : position + 8 + length]
        position += 8 + length + (length & 1)


def c2pa_manifest(data: bytes) -> bytes | None:
    """The C2PA manifest store embedded in a PNG, JPEG or WebP file, if any."""
    if data.startswith(b"\x89PNG"):
        return next((body for kind, body in png_chunks(data) if kind == b"caBX"), None)
    if data.startswith(b"\xff\xd8"):
        parts = [
            body
            for marker, body in jpeg_app_segments(data)
            if marker == 0xEB and b"jumb" in body and b"c2pa" in body
        ]
        return b"".join(parts) or None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return next((body for kind, body in riff_chunks(data) if kind == b"C2PA"), None)
    return None


def inspect_file(path: str | None) -> dict:
    """The AI-metadata columns for one image file."""
    from PIL import Image

    found = {"ai_metadata": None, "ai_metadata_detail": None, "c2pa_manifest": False}
    if path is None:
        return found
    try:
        data = Path(path).read_bytes()
        with Image.open(path) as image:
            info = {**image.info, **(getattr(image, "text", None) or {})}
            signal = text_chunk_signal(info) or exif_signal(image)
    except Exception:  # noqa: BLE001 (unreadable files are the decode stage's business)
        return found
    manifest = c2pa_manifest(data)
    found["c2pa_manifest"] = manifest is not None
    if signal is None:
        source_type = next((t for t in AI_SOURCE_TYPES if t in data), None)
        if source_type is not None:
            where = "c2pa" if manifest is not None and source_type in manifest else "xmp"
            signal = (f"{where}_digital_source_type", source_type.decode())
    if signal is not None:
        found["ai_metadata"], found["ai_metadata_detail"] = signal
    return found


@dataclass
class AIMetadata:
    """Add `ai_metadata` (the generator named by the metadata, or null), `ai_metadata_detail` and
    `c2pa_manifest`; reject `ai_metadata` rows unless `reject` is off."""

    reject: bool = True
    workers: int = 4
    name: str = "ai_metadata"
    reads: tuple[str, ...] = ("image_path",)
    adds: tuple[str, ...] = ("ai_metadata", "ai_metadata_detail", "c2pa_manifest")

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        with ThreadPoolExecutor(self.workers) as pool:
            found = pl.DataFrame(
                list(pool.map(inspect_file, batch["image_path"].to_list())), schema=RESULT_SCHEMA
            )
        batch = batch.drop(*RESULT_SCHEMA, strict=False).hstack(found)
        if not self.reject:
            return with_bookkeeping(batch)
        return reject_where(
            batch,
            pl.col("ai_metadata").is_not_null(),
            "ai_metadata",
            pl.format("{}: {}", pl.col("ai_metadata"), pl.col("ai_metadata_detail")),
        )
