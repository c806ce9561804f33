"""Run the whole pipeline on this machine: `textbatch local up | env | down | reclaim`.

`up` starts the local cloud in the background and returns once it is ready: the embedded moto
server by default, or a running LocalStack with --endpoint (Batch and DynamoDB stay on the
embedded moto). `eval "$(textbatch local env)"` then points the AWS CLI, boto3 and every
textbatch command at it. `down` stops it and removes what it started.
"""

from __future__ import annotations

import argparse
import shlex

from textbatch.cli.options import examples
from textbatch.local import control, daemon, runtime
from textbatch.local.executor import reclaim_marker


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "local",
        help="the local cloud",
        description=__doc__,
        epilog=examples(
            'textbatch local up && eval "$(textbatch local env)"',
            "textbatch local up --endpoint http://127.0.0.1:4566 --runtime container",
            "textbatch local down",
        ),
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser("up", help="start the local cloud in the background")
    up.add_argument("--endpoint", help="a running LocalStack, e.g. http://localhost:4566")
    up.add_argument("--port", type=int, help="port of the embedded moto server (default: free)")
    up.add_argument(
        "--runtime",
        choices=runtime.MODES,
        default="auto",
        help="run each job in its Batch image with podman or docker (container), or as a process "
        "of this virtualenv (process); auto: containers when an engine and current images "
        "(`make images`) are here",
    )
    up.set_defaults(run=run_up)
    actions.add_parser("env", help="shell exports for the local cloud").set_defaults(run=run_env)
    actions.add_parser("down", help="stop the local cloud").set_defaults(run=run_down)
    reclaim = actions.add_parser("reclaim", help="lose a running job's host, as a Spot reclaim")
    reclaim.add_argument("job_id")
    reclaim.set_defaults(run=run_reclaim)
    serve = actions.add_parser("serve", description="(internal) the background process")
    serve.add_argument("--endpoint")
    serve.add_argument("--port", type=int)
    serve.add_argument("--runtime", choices=runtime.MODES, default="auto")
    serve.set_defaults(run=lambda a: daemon.serve(a.endpoint, a.port, a.runtime) or 0)


def run_up(args: argparse.Namespace) -> int:
    cloud = control.running()
    if cloud is None:
        runtime.choose(args.runtime)  # containers asked for and impossible: say why, start nothing
        print("starting the local cloud", end="", flush=True)
        cloud = control.start(
            args.endpoint,
            args.port,
            runtime=args.runtime,
            tick=lambda: print(".", end="", flush=True),
        )
        print(" ready")
    print(f"local cloud up: AWS APIs at {cloud.endpoints.default}", end="")
    if cloud.endpoints.moto != cloud.endpoints.default:
        print(f" (Batch and DynamoDB at {cloud.endpoints.moto})", end="")
    print()
    for variable, output in control.BUCKET_VARIABLES.items():
        print(f"  {variable.removeprefix('TEXTBATCH_').lower():<16} s3://{cloud.outputs[output]}")
    print(f"  jobs run as      {cloud.outputs[runtime.RUNTIME_OUTPUT]}")
    print('point the AWS CLI and textbatch at it:  eval "$(textbatch local env)"')
    return 0


def run_env(args: argparse.Namespace) -> int:
    for key, value in control.environment(control.require_running()).items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def run_down(args: argparse.Namespace) -> int:
    print("local cloud stopped" if control.stop() else "the local cloud is not running")
    return 0


def run_reclaim(args: argparse.Namespace) -> int:
    control.require_running()
    marker = reclaim_marker(daemon.control_dir(), args.job_id)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    print(f"the host of job {args.job_id} will be lost (as a reclaimed Spot instance)")
    return 0
