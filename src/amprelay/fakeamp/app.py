"""The fake Amplitude server: a plain ASGI application (run it with uvicorn).

Paths. Amplitude spreads its APIs over several hosts (api2.amplitude.com, api.amplitude.com,
amplitude.com, and the EU hosts api.eu.amplitude.com / analytics.eu.amplitude.com); the fake is one
host:port that serves every API path, so a client keeps each API's path and only swaps the base URL:

    POST /2/httpapi   POST /batch          (JSON)
    POST /identify    POST /groupidentify  POST /usermap   (form fields or query string)
    POST /api/2/deletions/users   GET /api/2/deletions/users   GET /api/2/usersearch   (basic auth)

Region: the same paths under ``/eu`` (``http://host:port/eu/2/httpapi``) or a ``Host`` header naming
an ``.eu.`` Amplitude host are the EU region; everything else is NA. Records carry ``"region"``.

Control endpoints (not Amplitude's): ``GET /_fake/health``, ``GET /_fake/events``
(``?path=&kind=&api_key=&region=&since=&limit=``), ``GET /_fake/stats``, ``POST /_fake/reset``,
``GET|POST /_fake/config``.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from typing import Any
from urllib.parse import parse_qsl

from amprelay.fakeamp import responses
from amprelay.fakeamp.asgi import (
    JSON,
    Answer,
    Drop,
    Receive,
    Scope,
    Send,
    basic_auth,
    close_connection,
    decode_form_value,
    drain,
    form_params,
    header,
    json_answer,
    read_body,
    respond,
    text_answer,
)
from amprelay.fakeamp.config import DEFAULT_MIN_ID_LENGTH, FaultConfig
from amprelay.fakeamp.limits import DailyCounter, Deduper, RateWindow
from amprelay.fakeamp.store import RecordStore
from amprelay.fakeamp.userapi import deletions, usersearch
from amprelay.fakeamp.validation import (
    check_event_request,
    check_events,
    check_group_identification,
    check_identification,
    check_mapping,
    event_id_key,
    parse_options,
)
from amprelay.js.json import dumps as json_dumps
from amprelay.js.json import loads as json_loads

EVENT_PATHS = ("/2/httpapi", "/batch")
FORM_PATHS = ("/identify", "/groupidentify", "/usermap")
DELETIONS_PATH = "/api/2/deletions/users"
USERSEARCH_PATH = "/api/2/usersearch"
INGEST_PATHS = frozenset(EVENT_PATHS + FORM_PATHS + (DELETIONS_PATH, USERSEARCH_PATH))

_FORM_KIND = {"/identify": "identification", "/groupidentify": "group_identification", "/usermap": "mapping"}
_FORM_FIELD = {"/identify": "identification", "/groupidentify": "identification", "/usermap": "mapping"}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class FakeAmplitude:
    """ASGI app. All state lives here; one instance per server."""

    def __init__(
        self, config: FaultConfig | None = None, record_path: str | None = None, freeze_gc: bool = False
    ) -> None:
        """``freeze_gc``: move what was just stored out of the cyclic GC's reach after every request
        (``gc.freeze()``), so millions of stored events do not make full collections pause the
        server for seconds. Meant for a dedicated process (the CLI), not for a test process."""
        self.freeze_gc = freeze_gc
        self.config = config or FaultConfig()
        self.rng = random.Random(self.config.seed)
        self.store = RecordStore(record_path, self.config.max_records)
        self.deduper = Deduper()
        self.device_rates = RateWindow()
        self.user_rates = RateWindow()
        self.device_daily = DailyCounter()
        self.user_daily = DailyCounter()
        self.deletion_jobs: list[dict[str, Any]] = []
        self._reset_stats()

    # ---- state ----

    def _reset_stats(self) -> None:
        self.requests: dict[str, dict[str, int]] = {}
        self.events_received = 0
        self.events_accepted = 0
        self.duplicates = 0
        self.started_at = _now_ms()

    def reset(self) -> None:
        self.store.reset()
        self.deduper.clear()
        self.device_rates.clear()
        self.user_rates.clear()
        self.device_daily.clear()
        self.user_daily.clear()
        self.deletion_jobs = []
        self._reset_stats()

    def configure(self, changes: dict[str, Any]) -> None:
        self.config.update(changes)
        if "seed" in changes:
            self.rng = random.Random(self.config.seed)
        if "max_records" in changes:
            self.store.max_records = self.config.max_records

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "events_received": self.events_received,
            "events_accepted": self.events_accepted,
            "duplicates": self.duplicates,
            "records_total": self.store.total,
            "records_in_memory": self.store.in_memory,
            "started_at": self.started_at,
            "now": _now_ms(),
        }

    def _count(self, path: str, status: int | str) -> None:
        per = self.requests.get(path)
        if per is None:
            per = self.requests[path] = {}
        key = str(status)
        per[key] = per.get(key, 0) + 1

    # ---- ASGI ----

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        path: str = scope["path"]
        if path.startswith("/_fake/"):
            answer = await self._control(scope, receive, path)
            await respond(send, answer)
            return
        region = "na"
        if path.startswith("/eu/"):
            path = path[3:]
            region = "eu"
        else:
            host = header(scope, b"host")
            if host and b".eu." in host:
                region = "eu"
        if path not in INGEST_PATHS:
            await drain(receive)
            self._count(path, 404)
            await respond(send, json_answer(404, {"code": 404, "error": responses.ERR_INVALID_PATH}))
            return
        try:
            await self._ingest(scope, receive, send, path, region)
        except Drop:
            self._count(path, "dropped")
            close_connection(send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.store.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _ingest(self, scope: Scope, receive: Receive, send: Send, path: str, region: str) -> None:
        cfg = self.config
        method = scope["method"]
        limit = cfg.body_limit(path)
        body = await read_body(receive, limit)

        drop_after = False
        if cfg.drop_next > 0:
            cfg.drop_next -= 1
            drop_after = cfg.drop_mode == "after"
            if not drop_after:
                raise Drop
        elif cfg.drop_rate and self.rng.random() < cfg.drop_rate:
            drop_after = cfg.drop_mode == "after"
            if not drop_after:
                raise Drop
        if cfg.latency_ms:
            await asyncio.sleep(cfg.latency_ms / 1000.0)

        fault_status = 0
        if cfg.fail_next > 0:
            cfg.fail_next -= 1
            fault_status = cfg.fail_status
        elif cfg.error_rate and self.rng.random() < cfg.error_rate:
            fault_status = self.rng.choice(cfg.error_statuses)

        if fault_status:
            answer = json_answer(fault_status, responses.forced(fault_status))
        elif body is None:
            answer = json_answer(413, responses.payload_too_large())
        elif path in EVENT_PATHS:
            answer = (
                self._events(path, region, body)
                if method == "POST"
                else json_answer(405, {"code": 405, "error": "Method Not Allowed"})
            )
        elif path in _FORM_KIND:
            answer = self._form(scope, path, region, body)
        else:  # the Dashboard REST API
            api_key = self._auth(scope)
            if api_key is None:
                answer = json_answer(401, {"error": "Invalid API key or secret key"})
            elif path == DELETIONS_PATH:
                answer = deletions(api_key, method, path, region, body, self.deletion_jobs, self.store)
            else:
                answer = usersearch(api_key, scope, self.store)

        if drop_after:
            raise Drop
        self._count(path, answer.status)
        await respond(send, answer)

    # ---- HTTP V2 / Batch ----

    def _events(self, path: str, region: str, body: bytes) -> Answer:
        cfg = self.config
        if not body:
            return json_answer(400, responses.bad_request(responses.ERR_MISSING_BODY))
        try:
            decoded = json_loads(body)
        except ValueError:
            return json_answer(400, responses.bad_request(responses.ERR_INVALID_JSON))
        batch = check_event_request(decoded)
        if isinstance(batch, dict):
            return json_answer(400, batch)
        api_key = batch.api_key
        if not cfg.api_key_is_valid(api_key):
            return json_answer(400, responses.invalid_api_key(api_key))
        events = batch.events
        self.events_received += len(events)
        max_events = cfg.max_events_per_request
        if max_events and len(events) > max_events:  # None or 0: no limit
            return json_answer(413, responses.payload_too_large())
        problems = check_events(events, batch.min_id_length)
        if problems is not None:
            return json_answer(400, problems)
        mil = batch.min_id_length
        if cfg.silenced_devices:
            silenced = self._silenced(events)
            if silenced is not None:
                return json_answer(400, silenced)
        if cfg.eps_limit is not None or cfg.daily_limit is not None:
            ids = [event_id_key(ev, mil) for ev in events]
            throttled = self._throttle(api_key, ids)
            if throttled is not None:
                return json_answer(429, throttled)

        now = _now_ms()
        seen_before = self.deduper.seen_before
        fresh = [ev for ev in events if not seen_before(api_key, ev, now)]
        self.store.add(path, region, api_key, "event", batch.options, now, fresh)
        if self.freeze_gc:
            gc.freeze()
        self.duplicates += len(events) - len(fresh)
        self.events_accepted += len(events)
        return json_answer(200, responses.success(len(events), len(body), now))

    def _silenced(self, events: list[dict[str, Any]]) -> dict[str, Any] | None:
        silenced_set = set(self.config.silenced_devices)
        devices: list[str] = []
        indexes: list[int] = []
        for i, ev in enumerate(events):
            d = ev.get("device_id")
            if d in silenced_set:
                indexes.append(i)
                if d not in devices:
                    devices.append(d)
        if not indexes:
            return None
        return responses.silenced(devices, indexes, self.config.eps_limit or 0)

    def _throttle(
        self, api_key: str, ids: list[tuple[str | None, str | None]]
    ) -> dict[str, Any] | None:
        """429 body if any device/user goes over the limits; otherwise count the request in."""
        cfg = self.config
        dev_counts: dict[str, int] = {}
        user_counts: dict[str, int] = {}
        for d, u in ids:
            if d is not None:
                dev_counts[d] = dev_counts.get(d, 0) + 1
            if u is not None:
                user_counts[u] = user_counts.get(u, 0) + 1
        now = time.monotonic()
        window = cfg.eps_window_s
        throttled_devices: dict[str, int] = {}
        throttled_users: dict[str, int] = {}
        daily_devices: dict[str, int] = {}
        daily_users: dict[str, int] = {}
        if cfg.eps_limit is not None:
            allowed = cfg.eps_limit * window
            for d, n in dev_counts.items():
                total = self.device_rates.current((api_key, d), now, window) + n
                if total > allowed:
                    throttled_devices[d] = _eps(total, window)
            for u, n in user_counts.items():
                total = self.user_rates.current((api_key, u), now, window) + n
                if total > allowed:
                    throttled_users[u] = _eps(total, window)
        if cfg.daily_limit is not None:
            for d, n in dev_counts.items():
                total = self.device_daily.get((api_key, d)) + n
                if total > cfg.daily_limit:
                    daily_devices[d] = total
            for u, n in user_counts.items():
                total = self.user_daily.get((api_key, u)) + n
                if total > cfg.daily_limit:
                    daily_users[u] = total
        if throttled_devices or throttled_users or daily_devices or daily_users:
            events = [
                i
                for i, (d, u) in enumerate(ids)
                if (d is not None and (d in throttled_devices or d in daily_devices))
                or (u is not None and (u in throttled_users or u in daily_users))
            ]
            with_daily = cfg.daily_limit is not None
            return responses.throttled(
                cfg.eps_limit if cfg.eps_limit is not None else 0,
                throttled_devices,
                throttled_users,
                events,
                exceeded_daily_quota_devices=daily_devices if with_daily else None,
                exceeded_daily_quota_users=daily_users if with_daily else None,
            )
        if cfg.eps_limit is not None:
            for d, n in dev_counts.items():
                self.device_rates.add((api_key, d), now, n)
            for u, n in user_counts.items():
                self.user_rates.add((api_key, u), now, n)
        if cfg.daily_limit is not None:
            for d, n in dev_counts.items():
                self.device_daily.add((api_key, d), n)
            for u, n in user_counts.items():
                self.user_daily.add((api_key, u), n)
        return None

    # ---- Identify / Group Identify / User Mapping ----

    def _form(self, scope: Scope, path: str, region: str, body: bytes) -> Answer:
        """Form APIs answer in plain text like Amplitude's legacy endpoints: ``success`` on 200,
        ``invalid_api_key`` / ``missing_event`` on 400 (the Identify docs name ``missing_event``)."""
        cfg = self.config
        params = form_params(scope, body)
        if params is None:
            return text_answer(400, "missing_event")
        api_key = params.get("api_key")
        if not api_key or not cfg.api_key_is_valid(api_key):
            return text_answer(400, "invalid_api_key")
        field = _FORM_FIELD[path]
        value = decode_form_value(params.get(field))
        if isinstance(value, dict):
            items = [value]
        elif isinstance(value, list) and value:
            items = value
        else:
            return text_answer(400, f"missing_{'mapping' if path == '/usermap' else 'event'}")
        raw_options = params.get("options")
        options = decode_form_value(raw_options)
        parsed = parse_options(options) if isinstance(options, dict) else None
        mil = parsed[1] if parsed is not None else DEFAULT_MIN_ID_LENGTH

        if path == "/identify":
            if not all(check_identification(it, mil) for it in items):
                return text_answer(400, "missing_event")
            self.events_received += len(items)
            if cfg.eps_limit is not None or cfg.daily_limit is not None:
                throttled = self._throttle(api_key, [event_id_key(it, mil) for it in items])
                if throttled is not None:
                    return json_answer(429, throttled)
        elif path == "/groupidentify":
            if not all(check_group_identification(it) for it in items):
                return text_answer(400, "missing_event")
        elif not all(check_mapping(it) for it in items):
            return text_answer(400, "missing_mapping")

        now = _now_ms()
        kind = _FORM_KIND[path]
        if kind == "identification":
            fresh = [it for it in items if not self.deduper.seen_before(api_key, it, now)]
            self.duplicates += len(items) - len(fresh)
            self.events_accepted += len(items)
        else:
            fresh = items
        self.store.add(path, region, api_key, kind, options, now, fresh)
        return text_answer(200, "success")

    # ---- Dashboard-style APIs (basic auth) ----

    def _auth(self, scope: Scope) -> str | None:
        creds = basic_auth(scope)
        if creds is None:
            return None
        api_key, secret = creds
        cfg = self.config
        if not api_key or not secret or not cfg.api_key_is_valid(api_key):
            return None
        if cfg.secret_keys and secret not in cfg.secret_keys:
            return None
        return api_key

    # ---- control endpoints ----

    async def _control(self, scope: Scope, receive: Receive, path: str) -> Answer:
        method = scope["method"]
        body = await read_body(receive, None) or b""
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        if path == "/_fake/health":
            return json_answer(200, {"status": "ok"})
        if path == "/_fake/events" and method == "GET":
            try:
                since = int(query.get("since") or 0)
                limit = int(query["limit"]) if query.get("limit") else None
            except ValueError:
                return json_answer(400, {"error": "since and limit must be integers"})
            items = self.store.since(since)
            for name in ("path", "kind", "api_key", "region"):
                want = query.get(name)
                if want:
                    items = [r for r in items if r[name] == want]
            if limit is not None:
                items = items[:limit]
            return Answer(200, json_dumps(items), JSON)
        if path == "/_fake/stats" and method == "GET":
            return json_answer(200, self.stats())
        if path == "/_fake/reset" and method == "POST":
            self.reset()
            return json_answer(200, {"status": "reset"})
        if path == "/_fake/config":
            if method == "POST":
                try:
                    changes = json_loads(body) if body else {}
                    if not isinstance(changes, dict):
                        raise ValueError("config must be a JSON object")
                    self.configure(changes)
                except ValueError as exc:
                    return json_answer(400, {"error": str(exc)})
            return json_answer(200, self.config.as_dict())
        return json_answer(404, {"error": "unknown control endpoint"})


def _eps(total: int, window: float) -> int:
    return max(1, round(total / window)) if window > 0 else total


