"""`amprelay serve`: ingest + durable queue + delivery in one process."""

from __future__ import annotations

import argparse
import os
import sys

from amprelay.argtypes import port_number


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="run the relay: Segment-compatible ingest, queue and delivery to Amplitude",
        description="Run the relay. With no config file it starts from environment variables "
                    "(AMPRELAY_WRITE_KEY, AMPLITUDE_API_KEY, AMPLITUDE_SECRET_KEY, AMPLITUDE_REGION) and the "
                    "page's presets.")
    p.add_argument("--config", "-c", help="config file (default: amprelay.yaml if it exists, else the environment)")
    p.add_argument("--host", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, help="listen port (default 8088)")
    p.add_argument("--data-dir", help="directory of the embedded store (default ./data)")
    p.add_argument("--workers", type=_workers, help="embedded store: map in N processes and deliver in one more "
                   "(server.workers; default 0: everything in this process)")
    p.add_argument("--ingest-processes", type=_workers, help="embedded store: answer ingest requests in N "
                   "processes on the same port (server.ingest_processes; default 0: in this process)")
    p.add_argument("--amplitude-url", default=os.environ.get("AMPRELAY_AMPLITUDE_URL"),
                   help="send to this base URL instead of Amplitude's (keeps each API's path; EU under /eu); "
                        "env AMPRELAY_AMPLITUDE_URL")
    p.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain); with --tls-key")
    p.add_argument("--tls-key", help="the PEM private key of --tls-cert")
    p.add_argument("--log-level", default=os.environ.get("AMPRELAY_LOG_LEVEL"), type=str.lower,
                   choices=["debug", "info", "warning", "error"],
                   help="default: logging.level of the config, else info; env AMPRELAY_LOG_LEVEL")
    p.add_argument("--log-format", default=os.environ.get("AMPRELAY_LOG_FORMAT"), type=str.lower,
                   choices=["json", "text"],
                   help="one JSON object a line, or plain text (default: logging.format, else json); "
                        "env AMPRELAY_LOG_FORMAT")
    p.add_argument("--access-log", action="store_true", default=None,
                   help="log every HTTP request: method, path, status, bytes, duration, source "
                        "(default: logging.access_log)")
    p.set_defaults(func=run)


def _workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= 64:
        raise argparse.ArgumentTypeError(f"expected a number of processes from 0 to 64, not {text!r}")
    return n


def load(args: argparse.Namespace, secrets: bool = True):
    """The config for `serve`-like commands: the file, else the environment; flags override.
    ``secrets=False``: for commands that send nothing (see :func:`amprelay.config.parse_config`)."""
    from amprelay.config import config_from_env, load_config

    path = args.config
    if path is None and os.path.exists("amprelay.yaml"):
        path = "amprelay.yaml"
    loaded = load_config(path, secrets=secrets) if path else config_from_env(secrets=secrets)
    cfg = loaded.config
    if getattr(args, "host", None):
        cfg.server.host = args.host
    if getattr(args, "port", None) is not None:
        cfg.server.port = args.port
    if getattr(args, "workers", None) is not None:
        cfg.server.workers = args.workers
    if getattr(args, "ingest_processes", None) is not None:
        cfg.server.ingest_processes = args.ingest_processes
    if getattr(args, "data_dir", None):
        cfg.data_dir = args.data_dir
    if getattr(args, "amplitude_url", None):
        cfg.delivery.amplitude_url = args.amplitude_url
    if getattr(args, "tls_cert", None) or getattr(args, "tls_key", None):
        from amprelay.config import ConfigError, ConfigProblem, tls_problems

        cfg.server.tls_cert, cfg.server.tls_key = args.tls_cert, args.tls_key
        problems = tls_problems(args.tls_cert, args.tls_key)
        if problems:
            raise ConfigError([ConfigProblem("command line", None, f"--{k.replace('_', '-')}", m) for k, m in problems])
    if getattr(args, "log_level", None):
        cfg.logging.level = args.log_level
    if getattr(args, "log_format", None):
        cfg.logging.format = args.log_format
    if getattr(args, "access_log", None):
        cfg.logging.access_log = True
    return loaded


def run(args: argparse.Namespace) -> int:
    from amprelay.config import ConfigError
    from amprelay.logs import setup_logging
    from amprelay.store.lock import DataDirInUse
    from amprelay.wiring import RelayService

    setup_logging(args.log_level or "info", fmt=args.log_format or "json")
    try:
        loaded = load(args)
    except ConfigError as exc:
        from amprelay.cli.main import print_config_error

        print_config_error("amprelay serve", exc)
        return 1
    setup_logging(loaded.config.logging.level, fmt=loaded.config.logging.format)
    for w in loaded.warnings:
        print(f"warning: {w}", file=sys.stderr)
    try:
        service = RelayService.build(loaded.config, warnings=loaded.warnings, load=lambda: load(args))
    except DataDirInUse as exc:
        print(f"amprelay: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the ingest processes' sockets, bound before anything starts
        s = loaded.config.server
        print(f"amprelay: cannot listen on {s.host}:{s.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    s = loaded.config.server
    scheme = "https" if s.tls_cert else "http"
    print(f"amprelay listening on {scheme}://{s.host}:{s.port} (data in {loaded.config.data_dir})", file=sys.stderr)
    if service.console is not None and service.console.auth.enabled:
        print(f"console: {scheme}://{s.host}:{s.port}/console (log in with the admin token)", file=sys.stderr)
    service.run()
    return 0
