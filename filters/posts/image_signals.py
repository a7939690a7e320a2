"""Image-signal kernels on batches of uint8 crops (B, 3, H, W), on whatever device they live.

A leaf module: the stages that use these (`embedding`, `protection`, `near_duplicates`) import it,
it imports none of them.

- `luminance`: grey levels with the ITU-R BT.601 luma weights (`LUMA`, written once, here).
- `noise_floor`: median over 8x8 blocks of the RMS of the luminance minus its 3x3 mean.
- `jpeg_round_trip` and `purify`: a JPEG re-encode (nvjpeg on CUDA, Pillow on CPU), then a mild
  purification (JPEG quality 75, half size and back).
- `phash_bits` and `pack_bits`: the classic DCT perceptual hash (as in the imagehash package): grey
  image averaged down to 32x32, 2-D DCT (scipy's orthonormal DCT-II matrix), the 8x8 lowest
  frequencies compared with their median, packed into a 64-bit integer.
"""

from __future__ import annotations

import functools
import io

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from PIL import Image

LUMA = (0.299, 0.587, 0.114)
PURIFY_QUALITY = 75
HASH_SIZE = 8
SAMPLE_SIZE = 32
HASH_BITS = HASH_SIZE * HASH_SIZE


def luminance(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float (B, 1, H, W) in grey levels."""
    weights = torch.tensor(LUMA, device=pixels.device).view(1, 3, 1, 1)
    return (pixels.float() * weights).sum(1, keepdim=True)


def noise_floor(native: torch.Tensor, block: int = 8) -> torch.Tensor:
    """Median over `block`-square blocks of the RMS high-pass residual, per image, in grey levels."""
    if native.shape[0] == 0:
        return torch.empty(0, device=native.device)
    grey = luminance(native)
    residual = grey - F.avg_pool2d(grey, 3, stride=1, padding=1, count_include_pad=False)
    block_energy = F.avg_pool2d(residual.square(), block)
    return block_energy.flatten(1).median(dim=1).values.sqrt()


def jpeg_round_trip(pixels: torch.Tensor, quality: int = PURIFY_QUALITY) -> torch.Tensor:
    """Re-encode uint8 (B, 3, H, W) crops as JPEG: nvjpeg on CUDA, Pillow on CPU."""
    if pixels.device.type == "cuda":
        from torchvision.io import ImageReadMode, decode_jpeg, encode_jpeg

        encoded = [data.cpu() for data in encode_jpeg(list(pixels), quality=quality)]
        return torch.stack(decode_jpeg(encoded, mode=ImageReadMode.RGB, device=pixels.device))
    out = []
    for image in pixels.permute(0, 2, 3, 1).numpy():
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
        out.append(np.array(Image.open(buffer).convert("RGB")))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def purify(pixels: torch.Tensor) -> torch.Tensor:
    """A mild purification: JPEG quality 75, then half-size and back (bilinear, antialiased)."""
    if pixels.shape[0] == 0:
        return pixels
    size = pixels.shape[-2:]
    small = F.interpolate(jpeg_round_trip(pixels).float(), scale_factor=0.5, mode="bilinear",
                          antialias=True)
    restored = F.interpolate(small, size=size, mode="bilinear", antialias=True)
    return restored.round_().clamp_(0, 255).to(torch.uint8)


@functools.cache
def _dct_matrix(device: str) -> torch.Tensor:
    from scipy.fft import dct

    return torch.tensor(dct(np.eye(SAMPLE_SIZE), norm="ortho", axis=0), dtype=torch.float32, device=device)


def phash_bits(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> bool (B, 64) pHash bits, on the input's device."""
    if pixels.shape[0] == 0:
        return torch.empty(0, HASH_BITS, dtype=torch.bool, device=pixels.device)
    small = F.adaptive_avg_pool2d(luminance(pixels), SAMPLE_SIZE)[:, 0]
    dct = _dct_matrix(str(pixels.device))
    low = (dct @ small @ dct.T)[:, :HASH_SIZE, :HASH_SIZE].flatten(1)
    return low > low.median(dim=1, keepdim=True).values


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """bool (N, 64) -> uint64 (N,), first bit most significant."""
    return np.packbits(bits.astype(bool), axis=1).view(">u8").ravel().astype(np.uint64)
