"""Campaigns over time: APScheduler jobs that call the domain packages."""
