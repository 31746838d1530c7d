"""``spotcheck serve``: the web console, served by uvicorn."""

from __future__ import annotations

import ipaddress

import typer
from rich.markup import escape

from spotcheck.context import current
from spotcheck.output import err_console, said

app = typer.Typer(help="Serve the web console.", invoke_without_command=True)


@app.callback()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    proxy: list[str] = typer.Option(
        [], "--trust-proxy",
        help="Address of a TLS-terminating reverse proxy whose X-Forwarded-* headers count "
             "(repeatable); cookies then get Secure when the proxy says HTTPS."),
) -> None:
    """Serve the console (log in at /login; add users with 'spotcheck user add')."""
    import uvicorn

    from spotcheck.web.app import create_app

    ctx = current()
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not ctx.settings.secure_cookies and not proxy:
        err_console.print(
            f"[yellow]warning:[/yellow] serving on {host} over plain HTTP: put a TLS proxy in "
            "front (--trust-proxy ADDR) or set SPOTCHECK_SECURE_COOKIES=true")
    application = create_app(ctx.settings, ctx.db)
    err_console.print(escape(said("cli_said.console_running", host=host, port=port,
                                  url=ctx.db.url)))
    uvicorn.run(application, host=host, port=port, log_level="info",
                proxy_headers=bool(proxy), forwarded_allow_ips=",".join(proxy) or None,
                server_header=False)
