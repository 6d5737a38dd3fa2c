"""The `sam-stack` command. Each subcommand lives in a module ``cli_<name>.py`` with
``register(subparsers)``, which adds its parser and sets ``run`` as its default, and
``run(args) -> int``; adding a subcommand is one line in :data:`SUBCOMMANDS`.

Exit status: 0 on success; 1 for an error the user can fix (a missing file, a prompt outside the
image, no network), printed as one line saying what was found and what was expected; 2 for a
command line that cannot be parsed (argparse's own); 130 when interrupted with Ctrl-C.
"""

import argparse
import sys

from . import cli_automask, cli_benchmark, cli_download, cli_embed, cli_info, cli_propagate, cli_segment
from .errors import SamStackError

SUBCOMMANDS = (cli_info, cli_download, cli_segment, cli_automask, cli_propagate, cli_embed, cli_benchmark)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sam-stack",
        description="Segment Anything (SAM v1, v2, v2.1) without napari: images, folders and stacks.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except SamStackError as error:
        print(f"sam-stack {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sam-stack {args.command}: interrupted", file=sys.stderr)
        return 130
