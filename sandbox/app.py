"""Build the ASGI apps of one sandbox: one Starlette app per platform style, plus the feeds."""

from __future__ import annotations

from starlette.applications import Starlette

from sandbox import feeds
from sandbox.obstacles import ASGIApp, ObstacleMiddleware
from sandbox.state import SandboxState
from sandbox.styles import mall, shop, spa

STYLES = ("mall", "spa", "shop")


def build_apps(state: SandboxState) -> dict[str, ASGIApp]:
    """Apps keyed "mall", "spa", "shop" (obstacle middleware around each) and "feeds"."""
    modules = {"mall": mall, "spa": spa, "shop": shop}
    apps: dict[str, ASGIApp] = {}
    for style, module in modules.items():
        inner = Starlette(routes=module.routes(state))
        apps[style] = ObstacleMiddleware(inner, state, style)
    apps["feeds"] = Starlette(routes=feeds.routes(state))
    return apps
