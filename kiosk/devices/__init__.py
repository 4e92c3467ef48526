"""Device adapters: ports, status model, real protocol drivers (simulators live in `simulators/`)."""
