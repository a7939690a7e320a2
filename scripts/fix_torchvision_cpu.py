"""Make the CUDA-only torchvision 0.28.0 wheel importable on a CPU-only torch.

The wheel's C++ ops (`_C.so`) cannot load without CUDA, and `torchvision/_meta_registrations.py`
registers fake kernels for `torchvision::nms` and `torchvision::qnms` without checking
`_has_ops()` as it does for the other ops, so `import torchvision` (and with it open_clip and the
image classes of transformers) fails with "operator torchvision::nms does not exist". This guards
those registrations the same way the others are guarded. It changes nothing when torch has CUDA
or when torchvision imports.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

UNGUARDED = re.compile(r'^@torch\.library\.register_fake\(("torchvision::\w+")\)$', re.MULTILINE)
GUARDED = r'@(torch.library.register_fake(\1) if torchvision.extension._has_ops() else (lambda f: f))'


def torchvision_imports() -> tuple[bool, str]:
    probe = subprocess.run([sys.executable, "-c", "import torchvision"], capture_output=True, text=True)
    return probe.returncode == 0, probe.stderr


def main() -> int:
    import torch

    if torch.version.cuda is not None:
        print("torch has CUDA: torchvision left as it is")
        return 0
    ok, error = torchvision_imports()
    if ok:
        print("torchvision imports: nothing to do")
        return 0
    if not re.search(r"operator torchvision::\w+ does not exist", error):
        print(error, file=sys.stderr)
        return 1
    spec = importlib.util.find_spec("torchvision")
    meta = Path(spec.origin).parent / "_meta_registrations.py"
    source = meta.read_text()
    if not UNGUARDED.search(source):
        print(f"unexpected content in {meta}; not changed", file=sys.stderr)
        return 1
    meta.write_text(UNGUARDED.sub(GUARDED, source))
    for cached in meta.parent.glob("__pycache__/_meta_registrations.*.pyc"):
        cached.unlink()
    ok, error = torchvision_imports()
    print("torchvision guarded for CPU-only torch" if ok else error)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
