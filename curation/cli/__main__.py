"""python -m curation.cli: the `curate` command (what torchrun launches for multi-GPU training)."""

from curation.cli import main

main()
