"""Command line interface."""

from tenantwatch.cli.app import app as app
from tenantwatch.cli.app import main as main

__all__ = ["app", "main"]
