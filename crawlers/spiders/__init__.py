"""Spiders: one generic spider driven by a platform profile."""
