"""aesthetic-curation core: row schemas, the streaming engine, metrics and the `curate` CLI."""

__version__ = "0.1.0"
