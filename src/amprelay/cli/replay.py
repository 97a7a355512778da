"""`amprelay replay FILE...`: archived messages through the same triggers, mappings and delivery."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay", help="replay NDJSON/JSONL archives (gzip or plain) through subscriptions and delivery",
        description="Replay archived Segment messages. Resumable: re-running the same command after an "
                    "interruption continues where it stopped (checkpoints in the data directory).")
    p.add_argument("files", nargs="+", type=Path, help="NDJSON / JSONL files, gzip or plain")
    p.add_argument("--config", "-c", help="config file (default: amprelay.yaml if it exists, else the environment); "
                                          "--dry-run needs none of its secrets")
    p.add_argument("--data-dir", help="directory of the embedded store (default: the config's)")
    p.add_argument("--amplitude-url", help="send to this base URL instead of Amplitude's")
    p.add_argument("--source", help="treat the messages as coming from this source (default: the first)")
    p.add_argument("--dry-run", action="store_true",
                   help="send nothing: print per-subscription counts and mapping errors")
    p.add_argument("--since", help="only messages at or after this ISO-8601 time (timestamp, else receivedAt)")
    p.add_argument("--until", help="only messages before this ISO-8601 time")
    p.add_argument("--rate", type=_positive(float), help="at most this many messages per second")
    p.add_argument("--batch", type=_positive(int), default=500, help="messages per durable write (default 500)")
    p.add_argument("--restart", action="store_true", help="ignore checkpoints and start the files from the top")
    p.add_argument("--no-wait", action="store_true", help="queue only; leave delivery to a later `amprelay serve`")
    p.set_defaults(func=run)


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
        return value
    parse.__name__ = kind.__name__
    return parse


def run(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as stack:  # releases the data dir's lock however the replay ends
        return _run(args, stack)


def _run(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from amprelay.cli.main import CommandError
    from amprelay.cli.serve import load
    from amprelay.delivery.metrics import Metrics
    from amprelay.relay.runtime import Relay
    from amprelay.relay.stages import ProcessResult, rejected_unit
    from amprelay.replay import (
        Checkpoints,
        RateLimiter,
        ReplayStats,
        file_key,
        iter_messages,
        message_time,
        parse_time,
    )
    from amprelay.store import api_keys_of, open_queue

    console = Console(stderr=True, soft_wrap=True)  # messages name long paths: never fold them
    try:
        since, until = parse_time(args.since), parse_time(args.until)
    except ValueError as exc:
        raise CommandError(f"--since/--until: {exc}") from None
    if since is not None and until is not None and since >= until:
        raise CommandError(f"--since ({args.since}) must be before --until ({args.until})")
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        raise CommandError(f"no such file: {', '.join(missing)}")
    loaded = load(args, secrets=not args.dry_run)
    cfg = loaded.config
    if args.source is not None and args.source not in {s.name for s in cfg.sources}:
        raise CommandError(f"no source {args.source!r} in the config (its sources: "
                           f"{', '.join(s.name for s in cfg.sources) or 'none'})")
    source = args.source or (cfg.sources[0].name if cfg.sources else "replay")
    if not args.dry_run:  # a dry run writes nothing: it may run beside `amprelay serve`
        from amprelay.store.lock import DataDirInUse, DataDirLock, store_dir

        try:
            lock = DataDirLock(store_dir(cfg.queue, cfg.data_dir)).acquire()
        except DataDirInUse as exc:
            console.print(f"[red]amprelay replay: {exc}[/]")
            return 1
        stack.callback(lock.release)
    Path(cfg.data_dir).mkdir(parents=True, exist_ok=True)

    class _NullQueue:
        def enqueue(self, units):
            return []

    store_queue = None if args.dry_run else open_queue(cfg.queue, cfg.data_dir)
    if store_queue is not None:
        store_queue.set_api_keys(api_keys_of(cfg.destinations))
    queue = _NullQueue() if store_queue is None else store_queue
    relay = Relay(cfg, queue, Metrics())  # type: ignore[arg-type]
    checkpoints = Checkpoints(Path(cfg.data_dir) / "replay-checkpoints.json")
    stats = ReplayStats()
    limiter = RateLimiter(args.rate)
    total_bytes = sum(f.stat().st_size for f in args.files)

    # The bar follows the bytes read (the only total known up front), with their rate; the
    # message count is beside it.
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TextColumn("{task.fields[messages]} messages"), TimeRemainingColumn(), console=console,
                  transient=False) as progress:
        task = progress.add_task("replay", total=total_bytes, messages=0)
        done_bytes = 0
        for path in args.files:
            key = file_key(path)
            skip = 0 if (args.restart or args.dry_run) else checkpoints.get(key)
            if skip:
                console.print(f"{path}: resuming after line {skip}")
            result = ProcessResult()
            pending = 0
            last_line = skip
            for item in iter_messages(path, skip):
                stats.lines += 1
                last_line = item.line_no
                if item.message is None and item.error is None:
                    continue
                if item.error is not None:
                    stats.invalid += 1
                    stats.errors[item.error.split(": ", 1)[-1]] = stats.errors.get(item.error.split(": ", 1)[-1], 0) + 1
                    msg = item.message
                    mid = str(msg.get("messageId") or "") if isinstance(msg, dict) else ""
                    result.dead.append((rejected_unit(f"source:{source}", "invalid_message", msg, mid, 0.0),
                                        f"{path.name} {item.error}"))
                else:
                    t = message_time(item.message)
                    if (since is not None and (t is None or t < since)) or (until is not None and (t is None or t >= until)):
                        stats.skipped_time += 1
                        continue
                    stats.messages += 1
                    relay.transform(source, item.message, result=result)
                pending += 1
                if pending >= args.batch:
                    _flush(relay, result, stats, checkpoints, key, last_line, args.dry_run)
                    result, pending = ProcessResult(), 0
                    limiter.wait(args.batch)
                    progress.update(task, completed=done_bytes + item.pos, messages=stats.messages)
            _flush(relay, result, stats, checkpoints, key, last_line, args.dry_run)
            done_bytes += path.stat().st_size
            progress.update(task, completed=done_bytes, messages=stats.messages)

    console.print(f"lines {stats.lines}, messages {stats.messages}, outside --since/--until {stats.skipped_time}, "
                  f"invalid {stats.invalid}, units queued {stats.units}")
    for name, n in sorted(stats.per_subscription.items()):
        console.print(f"  {name}: {n}")
    if stats.errors:
        console.print("[yellow]errors:[/]")
        for reason, n in sorted(stats.errors.items(), key=lambda kv: -kv[1]):
            console.print(f"  {n} x {reason}")
    if args.dry_run or args.no_wait or not stats.units:
        return 0
    return asyncio.run(_deliver(cfg, queue, console))


def _flush(relay, result, stats, checkpoints, key, last_line, dry_run) -> None:
    for name, n in result.per_subscription.items():
        stats.per_subscription[name] = stats.per_subscription.get(name, 0) + n
    for reason, n in result.errors.items():
        stats.errors[reason] = stats.errors.get(reason, 0) + n
    if dry_run:
        return
    relay.store(result)
    stats.units += len(result.units)
    checkpoints.set(key, last_line)


async def _deliver(cfg, queue, console) -> int:
    from amprelay.delivery.service import DeliveryService
    from amprelay.delivery.settings import DeliverySettings

    service = DeliveryService(queue, {d.name: d.stable_insert_id for d in cfg.destinations}, cfg.delivery.amplitude_url,
                              settings=DeliverySettings.from_config(cfg.delivery))
    await service.start()
    start = time.monotonic()
    try:
        while True:
            st = await asyncio.to_thread(queue.stats)
            if st.depth == 0:
                break
            if st.depth == st.waiting and time.monotonic() - start > 5:
                console.print(f"[yellow]{st.waiting} units wait for a retry; `amprelay serve` will deliver them[/]")
                break
            await asyncio.sleep(0.2)
    finally:
        await service.stop()
    st = queue.stats()
    console.print(f"delivered; queue depth {st.depth}, dead letters {st.dead_letters} "
                  f"in {time.monotonic() - start:.1f}s")
    return 0 if st.depth == 0 else 3

