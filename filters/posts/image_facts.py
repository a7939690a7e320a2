"""Is this a whole, decodable image? One pass over the bytes, which gives its size and format too.

The pixel count is read from the header and checked before any pixel is decoded, so a
decompression bomb is refused without being inflated. JPEGs are then decoded in draft mode (DCT
scaling, up to 1/8 per side), which still reads every entropy-coded byte and so still catches a
truncated file, at a fraction of a full decode; other formats decode their first frame.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own MAX_IMAGE_PIXELS default


@dataclass(frozen=True)
class ImageFacts:
    width: int
    height: int
    format: str
    animated: bool


class ImageProblem(Exception):
    """An image that cannot be used: reason `truncated_image`, `corrupt_image` or `decompression_bomb`."""

    def __init__(self, reason: str, detail: str, facts: ImageFacts | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.facts = reason, detail, facts


def inspect_image(source: bytes | str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageFacts:
    """The facts of an image (bytes in memory, or a file read once); raises ImageProblem."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max(max_pixels, Image.MAX_IMAGE_PIXELS or 0)
    opened = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with Image.open(opened) as image:
            width, height = image.size
            facts = ImageFacts(width, height, image.format, bool(getattr(image, "is_animated", False)))
            if width * height > max_pixels:
                raise ImageProblem("decompression_bomb",
                                   f"{width}x{height} = {width * height:,} pixels > {max_pixels:,}", facts)
            if image.format == "JPEG":
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
    except ImageProblem:
        raise
    except Image.DecompressionBombError as error:
        raise ImageProblem("decompression_bomb", str(error)[:300]) from None
    except FileNotFoundError:
        raise
    except Exception as error:  # noqa: BLE001 (Pillow raises many types for bad data)
        reason = "truncated_image" if "truncat" in str(error).lower() else "corrupt_image"
        raise ImageProblem(reason, f"{type(error).__name__}: {error}"[:300]) from None
    return facts
