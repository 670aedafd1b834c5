"""On-demand benchmarks of the branch against its baselines (`make bench`); not tests."""
