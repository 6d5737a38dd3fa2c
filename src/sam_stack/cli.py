"""The `sam-stack` command. Its subcommands are added here as the tasks they run are written."""

import argparse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sam-stack",
        description="Segment Anything (SAM v1, v2, v2.1) without napari: images, folders and stacks.",
    )
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0
