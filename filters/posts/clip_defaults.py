"""The open_clip model every post stage and command uses unless told otherwise: one place, and no
imports, so the CLI can show it without loading polars or torch."""

DEFAULT_CLIP_MODEL = "ViT-B-16"
DEFAULT_CLIP_PRETRAINED = "laion2b_s34b_b88k"
