"""The `kiln` command: one subcommand per module in this package.

    kiln compile MODEL.json -o OUT/ [--name NAME] [--batch N] [--target-cpu CPU] [--weights W]
    kiln run MODEL.json --input x.npy [--output y.npy]
    kiln bench MODEL.json [--batch N]
    kiln inspect MODEL.json [--stage S] [--format text|json|dot] [--batch N] [--train]

Each subcommand module has HELP, `add_arguments(parser)` and `main(args) -> exit code`; a new
subcommand is a new module and a row in COMMANDS. Errors a user can cause (a bad model file,
bad options, an unwritable folder) print one line `kiln SUBCOMMAND: error: ...` and exit 1;
usage errors exit 2 (argparse).
"""
from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> module in kiln.cli (imported only when that subcommand runs)
COMMANDS = {
    "compile": "kiln.cli.compile",
    "run": "kiln.cli.run",
    "bench": "kiln.cli.bench",
    "inspect": "kiln.cli.inspect",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiln", description="kiln: the TensorFlow.js Layers "
                                     "API compiled to native code.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.main)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from kiln.cli.common import UserError, user_errors

    try:
        return args.run(args)
    except BrokenPipeError:
        # the reader went away (`kiln inspect ... | head`): stop quietly, as Unix tools do
        sys.stderr.close()
        return 0
    except user_errors() as e:
        message = str(e) if isinstance(e, UserError) or str(e) else type(e).__name__
        print(f"kiln {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
