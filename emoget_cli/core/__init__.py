"""Shared foundation: errors, atomic writes, image I/O, artifact schemas, config, devices."""
