"""Shared by every step: the error type, settings from config sections, atomic writes with
provenance, downloads, the dask scheduler."""
