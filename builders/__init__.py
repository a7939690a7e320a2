"""Dataset revisions (large, main, aligned_5, aligned_s), samplers, reports and dataset cards."""
