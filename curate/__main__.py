"""python -m curate: the `curate` command (what torchrun launches for multi-GPU training)."""

from curate import main

main()
