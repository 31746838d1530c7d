"""The web console: FastAPI + Jinja2, server-rendered pages for supervisors, samplers and
investigators.  Entry point: :func:`spotcheck.web.app.create_app`."""

__all__ = ["app"]
