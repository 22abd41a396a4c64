"""Load tests and benchmarks: Locust users, a local runner, and small measurement harnesses."""
