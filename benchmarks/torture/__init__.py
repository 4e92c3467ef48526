"""The kill -9 torture harness (`python -m benchmarks.torture`)."""
