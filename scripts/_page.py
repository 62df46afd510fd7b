"""The command line shared by the scripts that generate a page of docs/: write it, or --check it."""

import argparse
import sys


def main(doc, render, script, description, argv=None):
    """Write ``render()`` to ``doc``; with ``--check``, return 1 (and say so) if ``doc`` differs."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help=f"fail if {doc.parent.name}/{doc.name} is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not doc.exists() or doc.read_text() != text:
            print(f"{doc.parent.name}/{doc.name} is out of date: run python scripts/{script}", file=sys.stderr)
            return 1
        return 0
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
    return 0
