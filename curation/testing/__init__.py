"""Real local services for tests and benchmarks (nothing here is a mock: they speak real protocols)."""
