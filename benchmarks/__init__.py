"""Benchmarks of tenantwatch (``make bench``)."""
