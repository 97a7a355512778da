"""`amprelay serve`: ingest + durable queue + delivery in one process."""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="run the relay: Segment-compatible ingest, queue and delivery to Amplitude",
        description="Run the relay. With no config file it starts from environment variables "
                    "(AMPRELAY_WRITE_KEY, AMPLITUDE_API_KEY, AMPLITUDE_SECRET_KEY, AMPLITUDE_REGION) and the "
                    "page's presets.")
    p.add_argument("--config", "-c", help="config file (default: amprelay.yaml if it exists, else the environment)")
    p.add_argument("--host", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default 8088)")
    p.add_argument("--data-dir", help="directory of the embedded store (default ./data)")
    p.add_argument("--workers", type=_workers, help="embedded store: map in N processes and deliver in one more "
                   "(server.workers; default 0: everything in this process)")
    p.add_argument("--amplitude-url", default=os.environ.get("AMPRELAY_AMPLITUDE_URL"),
                   help="send to this base URL instead of Amplitude's (keeps each API's path); "
                        "env AMPRELAY_AMPLITUDE_URL")
    p.add_argument("--log-level", default=os.environ.get("AMPRELAY_LOG_LEVEL", "info"))
    p.set_defaults(func=run)


def _workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= 64:
        raise argparse.ArgumentTypeError(f"expected a number of processes from 0 to 64, not {text!r}")
    return n


def load(args: argparse.Namespace):
    """The config for `serve`-like commands: the file, else the environment; flags override."""
    from amprelay.config import config_from_env, load_config

    path = args.config
    if path is None and os.path.exists("amprelay.yaml"):
        path = "amprelay.yaml"
    loaded = load_config(path) if path else config_from_env()
    cfg = loaded.config
    if getattr(args, "host", None):
        cfg.server.host = args.host
    if getattr(args, "port", None) is not None:
        cfg.server.port = args.port
    if getattr(args, "workers", None) is not None:
        cfg.server.workers = args.workers
    if getattr(args, "data_dir", None):
        cfg.data_dir = args.data_dir
    if getattr(args, "amplitude_url", None):
        cfg.delivery.amplitude_url = args.amplitude_url
    return loaded


def run(args: argparse.Namespace) -> int:
    from amprelay.config import ConfigError
    from amprelay.logs import setup_logging
    from amprelay.relay.service import RelayService
    from amprelay.store.lock import DataDirInUse

    setup_logging(args.log_level)
    try:
        loaded = load(args)
    except ConfigError as exc:
        print("amprelay: the configuration is invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    for w in loaded.warnings:
        print(f"warning: {w}", file=sys.stderr)
    try:
        service = RelayService.build(loaded.config, warnings=loaded.warnings)
    except DataDirInUse as exc:
        print(f"amprelay: {exc}", file=sys.stderr)
        return 1
    s = loaded.config.server
    print(f"amprelay listening on http://{s.host}:{s.port} (data in {loaded.config.data_dir})", file=sys.stderr)
    if service.console is not None and service.console.auth.enabled:
        print(f"console: http://{s.host}:{s.port}/console (log in with the admin token)", file=sys.stderr)
    service.run()
    return 0
