"""Stages that keep, drop or annotate rows: poems, posts and images."""
