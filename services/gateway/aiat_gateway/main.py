"""Entry point of `aiat-gateway`: `serve` (default) or `migrate`."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from aiat.settings import configure_logging
from aiat_gateway.api.app import create_app
from aiat_gateway.api.auth import AccessConfigError, open_warning
from aiat_gateway.db.migrate import upgrade
from aiat_gateway.settings import GatewaySettings

log = logging.getLogger("aiat.gateway")


def main(argv: list[str] | None = None) -> None:
    """Run the REST API, or migrate the database schema to the latest revision."""
    parser = argparse.ArgumentParser(prog="aiat-gateway")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate"])
    args = parser.parse_args(argv)
    settings = GatewaySettings()
    configure_logging(settings.log_level)
    if args.command == "migrate":
        upgrade(settings.sqlalchemy_url)
        return
    try:
        app = create_app(settings)
    except AccessConfigError as exc:
        print(f"aiat-gateway: {exc}", file=sys.stderr)
        sys.exit(2)
    if warning := open_warning(settings):
        log.warning("%s", warning)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
