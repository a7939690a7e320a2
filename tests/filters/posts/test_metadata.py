import io
import json
import struct
import zlib
from pathlib import Path

import polars as pl
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from filters.posts.metadata import AIMetadata, inspect_file

A1111 = (
    "masterpiece, 1girl, cherry blossoms\nNegative prompt: lowres\nSteps: 28, Sampler: DPM++ 2M Karras, "
    "CFG scale: 7, Seed: 1234, Size: 832x1216, Model: animagineXL"
)
COMFY_WORKFLOW = {"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}, {"id": 9, "type": "SaveImage"}]}
COMFY_PROMPT = {"3": {"class_type": "KSampler", "inputs": {"seed": 5}}, "9": {"class_type": "SaveImage"}}
C2PA_STORE = b"\x00\x00\x00\x20jumb\x00\x00\x00\x18jumdc2pa\x00" + b"c2pa.actions digitalSourceType "


def picture() -> Image.Image:
    return Image.linear_gradient("L").resize((96, 96)).convert("RGB")


def png(path: Path, **text: str) -> Path:
    info = PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    picture().save(path, format="PNG", pnginfo=info)
    return path


def jpeg(path: Path, software: str | None = None, user_comment: str | None = None) -> Path:
    exif = Image.Exif()
    if software:
        exif[0x0131] = software
    if user_comment:
        exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + user_comment.encode("utf-16-be")
    picture().save(path, format="JPEG", exif=exif)
    return path


def png_with_chunk(path: Path, kind: bytes, body: bytes) -> Path:
    buffer = io.BytesIO()
    picture().save(buffer, format="PNG")
    data = buffer.getvalue()
    chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    path.write_bytes(data[:33] + chunk + data[33:])
    return path


def jpeg_with_app11(path: Path, payload: bytes) -> Path:
    data = jpeg(path).read_bytes()
    segment = b"\xff\xeb" + struct.pack(">H", len(payload) + 2) + payload
    path.write_bytes(data[:2] + segment + data[2:])
    return path


def test_a1111_parameters_chunk(tmp_path):
    found = inspect_file(str(png(tmp_path / "a.png", parameters=A1111)))
    assert found["ai_metadata"] == "a1111" and "Sampler: DPM++ 2M Karras" in found["ai_metadata_detail"]


def test_comfyui_workflow_and_prompt_chunks(tmp_path):
    workflow = inspect_file(str(png(tmp_path / "w.png", workflow=json.dumps(COMFY_WORKFLOW))))
    prompt = inspect_file(str(png(tmp_path / "p.png", prompt=json.dumps(COMFY_PROMPT))))
    assert (workflow["ai_metadata"], prompt["ai_metadata"]) == ("comfyui", "comfyui")
    assert workflow["ai_metadata_detail"] == "workflow with 2 nodes"


def test_novelai_software_and_comment(tmp_path):
    comment = json.dumps({"prompt": "1girl", "steps": 28, "sampler": "k_euler", "uc": "lowres"})
    found = inspect_file(str(png(tmp_path / "n.png", Software="NovelAI", Comment=comment)))
    assert found["ai_metadata"] == "novelai"


def test_jpeg_exif_software_names_a_generator_but_not_an_editor(tmp_path):
    generated = inspect_file(str(jpeg(tmp_path / "g.jpg", software="Stable Diffusion XL")))
    edited = inspect_file(str(jpeg(tmp_path / "e.jpg", software="Adobe Photoshop 25.0 (Windows)")))
    assert (
        generated["ai_metadata"] == "exif_software"
        and generated["ai_metadata_detail"] == "Stable Diffusion XL"
    )
    assert edited["ai_metadata"] is None


def test_a1111_parameters_in_jpeg_user_comment(tmp_path):
    assert inspect_file(str(jpeg(tmp_path / "u.jpg", user_comment=A1111)))["ai_metadata"] == "a1111"


def test_c2pa_manifest_presence_in_png_and_jpeg(tmp_path):
    signed_photo = inspect_file(str(jpeg_with_app11(tmp_path / "s.jpg", b"JP\x00\x01" + C2PA_STORE)))
    assert signed_photo == {"ai_metadata": None, "ai_metadata_detail": None, "c2pa_manifest": True}
    generated = inspect_file(
        str(png_with_chunk(tmp_path / "c.png", b"caBX", C2PA_STORE + b"trainedAlgorithmicMedia"))
    )
    assert generated["c2pa_manifest"] is True
    assert generated["ai_metadata"] == "c2pa_digital_source_type"


def test_plain_images_carry_no_signal(tmp_path):
    plain = [png(tmp_path / "plain.png", Title="sunset"), jpeg(tmp_path / "plain.jpg")]
    assert [inspect_file(str(p))["ai_metadata"] for p in plain] == [None, None]


def test_stage_rejects_ai_metadata_with_the_generator_named(tmp_path):
    paths = [png(tmp_path / "a.png", parameters=A1111), jpeg(tmp_path / "plain.jpg")]
    batch = pl.DataFrame({"image_path": [str(p) for p in paths]})
    out = AIMetadata()(batch)
    assert out["reject_reason"].to_list() == ["ai_metadata", None]
    assert out["reject_detail"][0].startswith("a1111: masterpiece")
    assert AIMetadata(reject=False)(batch)["reject_reason"].to_list() == [None, None]
