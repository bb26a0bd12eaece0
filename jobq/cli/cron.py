"""Commands of this module are registered in jobq.cli."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
