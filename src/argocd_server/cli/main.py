"""Entry point of ``argocd``: builds the command tree, parses (Cobra-style), runs, and reports failures as upstream.

Failures end with a fatal log line on stderr (``FATA[0000] ...`` on a terminal, ``time=... level=fatal msg=...``
otherwise) and exit code 20; usage mistakes print ``Error: ...`` and exit 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from argocd_server.cli import output
from argocd_server.cli.commands import account, app, cert, cluster, proj, repo, session
from argocd_server.cli.errors import EXIT_USAGE, CliError, UsageError
from argocd_server.cli.parser import ArgParser, Context, add_globals, env_defaults, rewrite_bools


def build_parser() -> ArgParser:
    common = ArgParser(add_help=False)
    add_globals(common)
    root = ArgParser(prog="argocd", description="Argo CD command line client (REST).", parents=[common])
    root.set_defaults(handler=None, group_parser=root)
    sub = root.add_subparsers(title="commands", metavar="COMMAND", parser_class=ArgParser)
    for module in (session, account, app, proj, repo, cluster, cert):
        module.register(sub, common)
    return root


def run(argv: Sequence[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(rewrite_bools(argv))
    ctx = Context(args, env_defaults())
    try:
        handler = getattr(args, "handler", None)
        if handler is None:
            # A command group without a sub-command prints its help, as Cobra does.
            group: argparse.ArgumentParser = args.group_parser
            ctx.refuse_unsupported()
            group.print_help()
            return 0
        ctx.refuse_unsupported()
        result = handler(ctx)
        return int(result or 0)
    finally:
        ctx.close()


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    pairs = zip(arguments, [*arguments[1:], ""], strict=True)
    log_format = "json" if "--logformat=json" in arguments or ("--logformat", "json") in pairs else "text"
    try:
        code = run(arguments)
    except UsageError as exc:
        sys.stderr.write(f"Error: {exc.message}\n")
        code = EXIT_USAGE
    except CliError as exc:
        output.log_line("fatal", exc.message, log_format=log_format)
        code = exc.exit_code
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = 0
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
