import struct
import zlib
from pathlib import Path

import polars as pl
from PIL import Image

from curation.testing.image_server import synthetic_image
from filters.posts.decode import DecodeImages


def png_claiming(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose IHDR is rewritten to claim `width` x `height` (a decompression bomb)."""
    png = bytearray(synthetic_image(1, 1))
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(png[24:29])
    png[12:29] = header
    png[29:33] = struct.pack(">I", zlib.crc32(header))
    return bytes(png)


def animated_gif() -> bytes:
    import io

    frames = [Image.new("RGB", (96, 96), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def files(folder: Path) -> dict[str, Path]:
    jpeg = synthetic_image(256, 192, seed=3, fmt="JPEG")
    contents = {
        "fine.jpg": jpeg,
        "fine.webp": synthetic_image(128, 128, seed=4, fmt="WEBP"),
        "tiny.png": synthetic_image(20, 20),
        "banner.png": synthetic_image(1000, 100),
        "animated.gif": animated_gif(),
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "corrupt.png": synthetic_image(128, 128)[:33] + bytes(range(256)) * 4,
        "bomb.png": png_claiming(100_000, 100_000),
    }
    paths = {}
    for name, body in contents.items():
        paths[name] = folder / name
        paths[name].write_bytes(body)
    return paths


def test_each_bad_image_gets_its_reason(tmp_path):
    paths = files(tmp_path)
    batch = pl.DataFrame({"name": list(paths), "image_path": [str(p) for p in paths.values()]})
    out = DecodeImages(min_side=64, max_aspect_ratio=4.0)(batch)
    assert dict(zip(out["name"], out["reject_reason"], strict=True)) == {
        "fine.jpg": None,
        "fine.webp": None,
        "tiny.png": "too_small",
        "banner.png": "extreme_aspect_ratio",
        "animated.gif": "animated",
        "truncated.jpg": "truncated_image",
        "corrupt.png": "corrupt_image",
        "bomb.png": "decompression_bomb",
    }
    fine = out.filter(pl.col("name") == "fine.jpg")
    assert fine.select("width", "height", "image_format").row(0) == (256, 192, "JPEG")
    assert out.schema["width"] == pl.Int32


def test_the_pixel_limit_is_configurable(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(synthetic_image(300, 300))
    batch = pl.DataFrame({"image_path": [str(path), None]})
    out = DecodeImages(max_pixels=50_000)(batch)
    assert out["reject_reason"].to_list() == ["decompression_bomb", "missing_image"]
    assert "90,000 pixels" in out["reject_detail"][0]


def test_animated_images_can_be_allowed(tmp_path):
    path = tmp_path / "a.gif"
    path.write_bytes(animated_gif())
    out = DecodeImages(reject_animated=False)(pl.DataFrame({"image_path": [str(path)]}))
    assert out["reject_reason"].to_list() == [None]
    assert out["image_format"].to_list() == ["GIF"]
