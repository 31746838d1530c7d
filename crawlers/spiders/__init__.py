"""Spiders: one generic spider driven by a platform profile."""

__all__ = ["platform"]
