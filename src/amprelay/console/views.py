"""The console's pages: Overview, Subscriptions, Event tester, Live events, Dead letters.

Server-rendered with Jinja2 (templates and the small CSS/JS ship inside the package; nothing to
build). Pages that update by themselves fetch an HTML fragment of the same template every few
seconds (``data-poll-url``). Every handler goes through :meth:`Console.guard`: localhost (unless
``allow_remote``), console on, logged in; every POST through the CSRF check.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Protocol
from urllib.parse import urlencode

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from amprelay.config import Config, DestinationConfig, SubscriptionConfig
from amprelay.console.activity import Activity
from amprelay.console.auth import COOKIE, ConsoleAuth, same_origin
from amprelay.console.charts import bar_chart, legend
from amprelay.delivery.health import DestinationHealth
from amprelay.destination import ACTIONS
from amprelay.destination.endpoints import endpoint_base, rebase_url
from amprelay.destination.js import js_json_loads
from amprelay.destination.request import form_urlencode, to_json_text
from amprelay.masking import mask_text, mask_value
from amprelay.relay.compiled import CompiledDestination
from amprelay.relay.trial import try_event
from amprelay.store.base import DeadLetterFilter, Queue
from amprelay.store.inbox import SQLiteInbox

Handler = Callable[[Request], Awaitable[Response]]


class ConsoleRelay(Protocol):
    """What the console reads of the relay (``amprelay.relay.runtime.Relay``)."""

    @property
    def config(self) -> Config: ...
    @property
    def queue(self) -> Queue: ...
    @property
    def inbox(self) -> SQLiteInbox | None: ...
    @property
    def destinations(self) -> Sequence[CompiledDestination]: ...
    @property
    def generation(self) -> int: ...


class ReloadOutcome(Protocol):
    """``amprelay.relay.reload.ReloadResult`` as the reload page reads it."""

    @property
    def ok(self) -> bool: ...

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
PAGE_SIZE = 50
SINCE_CHOICES = {"": "any time", "1h": "last hour", "24h": "last day", "7d": "last week"}
SINCE_SECONDS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400}
KINDS = ("events", "identify", "groupidentify", "usermap", "rejected")
SAMPLE_EVENT = {
    "type": "track",
    "event": "Song Played",
    "userId": "user-1234",
    "anonymousId": "anon-5678",
    "properties": {"title": "Blue Monday", "duration": 448},
    "context": {"library": {"name": "analytics.js", "version": "2.11.1"},
                "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
                             "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"},
}


def _ago(ts: float | None, now: float | None = None) -> str:
    if not ts:
        return "—"
    s = max(0, int((now or time.time()) - ts))
    if s < 60:
        return f"{s}s ago"
    if s < 3600:
        return f"{s // 60}m ago"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m ago"
    return f"{s // 86400}d ago"


def _age(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s"
    return f"{s // 3600}h {s % 3600 // 60}m"


def _iso(ts: float | None) -> str:
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pretty(value: Any) -> str:
    return orjson.dumps(mask_value(value), option=orjson.OPT_INDENT_2, default=str).decode()


def _value(value: Any) -> str:
    """A mapping value: one line when short, indented when not."""
    one = orjson.dumps(mask_value(value), default=str).decode()
    return one if len(one) <= 72 else _pretty(value)


def _finalize(value: Any) -> Any:
    """Every value a template prints goes through the masking (the last line of defence: what
    reaches a page was masked where it was made, too)."""
    if isinstance(value, Markup):
        return Markup(mask_text(str(value)))
    if isinstance(value, str):
        return mask_text(value)
    return value


def request_view(req: Any, base_url: str | None = None) -> dict[str, Any]:
    """A request to Amplitude for display: the exact body with the secrets masked, and the URL
    delivery sends it to (under ``base_url``, ``delivery.amplitude_url``, when set)."""
    if req.encoding == "json":
        raw = to_json_text(mask_value(req.json or {}))
    else:
        raw = form_urlencode(mask_value(req.form or {})).decode()
    return {"method": req.method, "url": rebase_url(req.url, base_url), "content_type": req.content_type,
            "raw": raw, "pretty": _pretty(req.decoded_body())}


class Console:
    def __init__(self, relay: ConsoleRelay, activity: Activity, auth: ConsoleAuth, *,
                 warnings: list[str] | None = None, wake: Callable[[], None] | None = None,
                 health: DestinationHealth | None = None, reload: Callable[[], ReloadOutcome] | None = None):
        self.relay = relay
        self.health = health  # destinations failing now
        self.reload = reload  # amprelay.relay.reload.Reloader.reload
        self.activity = activity
        self.auth = auth
        self.warnings = list(warnings or [])
        self.wake = wake
        self.env = Environment(loader=PackageLoader("amprelay.console", "templates"),
                               autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
                               finalize=_finalize)
        self.env.globals.update(ago=_ago, iso=_iso, pretty=_pretty, age=_age)

    # --- plumbing ------------------------------------------------------------------------------
    def routes(self) -> list[Mount | Route]:
        g = self.guard
        return [
            Route("/console", g(self.overview)),
            Mount("/console", routes=[
                Route("/", g(self.overview)),
                Route("/overview/panel", g(self.overview_panel)),
                Route("/login", self.login, methods=["GET", "POST"]),
                Route("/logout", g(self.logout, post=True), methods=["POST"]),
                Route("/subscriptions", g(self.subscriptions)),
                Route("/reload", g(self.reload_config, post=True), methods=["POST"]),
                Route("/tester", g(self.tester)),
                Route("/tester", g(self.tester_run, post=True), methods=["POST"]),
                Route("/live", g(self.live)),
                Route("/live/rows", g(self.live_rows)),
                Route("/dead-letters", g(self.dead_letters)),
                Route("/dead-letters/{id:int}", g(self.dead_letter)),
                Route("/dead-letters/{action:str}", g(self.dead_letters_act, post=True), methods=["POST"]),
                Route("/static/{name:str}", self.static),
            ]),
        ]

    def guard(self, handler: Handler, post: bool = False) -> Handler:
        async def guarded(request: Request) -> Response:
            refused = self._refusal(request)
            if refused is not None:
                return refused
            if not self.auth.logged_in(request):
                if request.method == "GET" and not request.url.path.endswith(("/rows", "/panel")):
                    return RedirectResponse("/console/login?" + urlencode({"next": request.url.path}), 303)
                return self.page(request, "message.html", 401, title="Log in first",
                                 text="This needs a console login.")
            if post:
                form = await request.form()
                csrf = form.get("csrf")
                if not self.auth.csrf_ok(request, csrf if isinstance(csrf, str) else None):
                    return self.page(request, "message.html", 403, title="Refused",
                                     text="The form was not sent from this console (CSRF check failed). "
                                          "Reload the page and try again.")
                request.state.form = form
            return await handler(request)

        return guarded

    def _refusal(self, request: Request) -> Response | None:
        if not self.auth.client_allowed(request):
            return self.page(request, "message.html", 403, title="Console not available",
                             text="The console is served to localhost only. Set console.allow_remote: true "
                                  "in the config to serve it to other hosts (put TLS in front).")
        if not self.auth.enabled:
            return self.page(request, "message.html", 403, title="The console is off",
                             text="Set an admin token to turn it on: the environment variable "
                                  "AMPRELAY_ADMIN_TOKEN, or console.admin_token in the config file; then restart.")
        return None

    def page(self, request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        ctx.setdefault("title", "")
        html = self.env.get_template(template).render(
            request=request, csrf=self.auth.csrf_token(request), logged_in=self.auth.logged_in(request),
            path=request.url.path, **ctx)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        types = {".css": "text/css", ".js": "application/javascript"}
        ext = name[name.rfind("."):] if "." in name else ""
        if ext not in types or "/" in name:
            return Response(status_code=404)
        try:
            data = resources.files("amprelay.console").joinpath("static", name).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return Response(status_code=404)
        return Response(data, media_type=types[ext], headers={"Cache-Control": "public, max-age=300",
                                                              "X-Content-Type-Options": "nosniff"})

    # --- login ---------------------------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        nxt = request.query_params.get("next", "/console")
        if not nxt.startswith("/console"):
            nxt = "/console"
        if request.method == "GET":
            return self.page(request, "login.html", title="Log in", next=nxt, error=None)
        form = await request.form()
        if not same_origin(request):
            return self.page(request, "message.html", 403, title="Refused", text="Cross-site login refused.")
        if not self.auth.token_matches(str(form.get("token") or "")):
            await asyncio.sleep(0.5)  # slows guessing
            return self.page(request, "login.html", 401, title="Log in", next=nxt,
                             error="That is not the admin token.")
        resp = RedirectResponse(nxt, 303)
        resp.set_cookie(COOKIE, self.auth.new_session(), max_age=int(self.auth.session_seconds), path="/console",
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return resp

    async def logout(self, request: Request) -> Response:
        resp = RedirectResponse("/console/login", 303)
        resp.delete_cookie(COOKIE, path="/console")
        return resp

    # --- overview ------------------------------------------------------------------------------
    def _amplitude_url(self) -> str | None:
        return self.relay.config.delivery.amplitude_url

    def _errors(self, name: str) -> list[Any]:
        """Amplitude's error messages may quote the API key: masked (the relay registered its keys)."""
        return [replace(e, error=mask_text(e.error), url=mask_text(e.url))
                for e in self.activity.errors if e.destination == name][:10]

    async def _overview_data(self) -> dict[str, Any]:
        now = time.time()
        stats = await run_in_threadpool(self.relay.queue.stats)
        inbox_store = self.relay.inbox
        inbox = await run_in_threadpool(inbox_store.depth) if inbox_store is not None else 0
        names = [d.name for d in self.relay.destinations]
        failing = self.health.failing(now) if self.health is not None else {}
        base = self._amplitude_url()
        sends_to = {d.name: endpoint_base(d.settings.endpoint, base) for d in self.relay.destinations}
        rows = []
        for name in names + [n for n in self.activity.destinations() if n not in names]:
            hour = self.activity.series(name, 60, 1, now)
            day = self.activity.series(name, 24, 60, now)
            rows.append({
                "name": name,
                "hour": self.activity.totals(name, 3600, now),
                "day": self.activity.totals(name, 86400, now),
                "depth": stats.depth_by_destination.get(name, 0),
                "dead": stats.dead_by_destination.get(name, 0),
                "chart_hour": bar_chart([(datetime.fromtimestamp(m * 60, UTC).strftime("%H:%M"), c) for m, c in hour],
                                        title=f"{name}: the last hour, per minute", tick_every=10),
                "chart_day": bar_chart([(datetime.fromtimestamp(m * 60, UTC).strftime("%H:00"), c) for m, c in day],
                                       title=f"{name}: the last day, per hour", tick_every=3),
                "errors": self._errors(name),
                "failing": failing.get(name),
                "sends_to": sends_to.get(name),
            })
        rejected = {d: n for d, n in stats.dead_by_destination.items() if d.startswith("source:")}
        return {"rows": rows, "stats": stats, "oldest_age": stats.oldest_age(now), "inbox": inbox,
                "rejected": rejected, "legend": legend(), "now": now, "started": self.activity.started_at}

    async def overview(self, request: Request) -> Response:
        return self.page(request, "overview.html", title="Overview", **await self._overview_data())

    async def overview_panel(self, request: Request) -> Response:
        return self.page(request, "_overview_panel.html", **await self._overview_data())

    # --- subscriptions -------------------------------------------------------------------------
    async def subscriptions(self, request: Request) -> Response:
        dests = []
        for dest in self.relay.destinations:
            subs = []
            for compiled, sub_cfg in zip(dest.subscriptions, _configured_subs(dest.config), strict=False):
                action = ACTIONS.get(compiled.action_key)
                mapping = compiled.subscription.mapping
                fields = []
                if action is not None:
                    for key, f in action.fields.items():
                        has = mapping is None or key in mapping
                        value = (f.default if f.has_default else None) if mapping is None else mapping.get(key)
                        is_default = f.has_default and has and value == f.default
                        fields.append({"key": key, "label": f.label, "type": f.type + ("[]" if f.multiple else ""),
                                       "required": f.required, "set": has and (mapping is not None or f.has_default),
                                       "value": _value(value) if has else "", "default": is_default})
                subs.append({"name": compiled.name, "action": compiled.action_key,
                             "action_title": action.title if action else compiled.action_key,
                             "trigger": compiled.subscription.trigger, "trigger_error": compiled.trigger_error,
                             "enabled": compiled.subscription.enabled, "fields": fields,
                             "preset": sub_cfg is None, "extra_keys": sorted(set(mapping or {}) - set(action.fields))
                             if action else []})
            dests.append({"name": dest.name, "settings": dest.settings.to_dict(),
                          "sends_to": endpoint_base(dest.settings.endpoint, self._amplitude_url()),
                          "overridden": self._amplitude_url() is not None,
                          "sources": sorted(dest.sources) if dest.sources is not None else None,
                          "sessions": dest.config.server_sessions, "subs": subs,
                          "stable_insert_id": dest.stable_insert_id})
        return self.page(request, "subscriptions.html", title="Subscriptions", destinations=dests,
                         warnings=self.warnings, can_reload=self.reload is not None,
                         generation=self.relay.generation)

    async def reload_config(self, request: Request) -> Response:
        """Read the config file again and apply it (as SIGHUP does); show the outcome."""
        if self.reload is None:
            return self.page(request, "message.html", 409, title="Reload not available",
                             text="This relay was not started from `amprelay serve`; restart it to change its config.")
        result = await run_in_threadpool(self.reload)
        return self.page(request, "reload.html", 200 if result.ok else 422, title="Reload", result=result)

    # --- event tester --------------------------------------------------------------------------
    async def tester(self, request: Request) -> Response:
        text = orjson.dumps(SAMPLE_EVENT, option=orjson.OPT_INDENT_2).decode()
        mid = request.query_params.get("message_id")
        if mid:
            ev = self.activity.find(mid)
            if ev is not None:
                text = _pretty(ev.message)
        return self.page(request, "tester.html", title="Event tester", event_text=text, recent=self._recent(),
                         result=None, error=None)

    async def tester_run(self, request: Request) -> Response:
        form = request.state.form
        text = str(form.get("event") or "")
        recent = str(form.get("recent") or "")
        if recent:
            ev = self.activity.find(recent)
            if ev is not None:
                text = _pretty(ev.message)
        error = None
        result = None
        try:
            event = js_json_loads(text)
        except ValueError as exc:
            error = f"The event is not valid JSON: {exc}"
        else:
            trial = try_event(self.relay.destinations, event)
            result = {
                "problems": trial.problems,
                "message": _pretty(trial.message) if trial.message is not None else None,
                "destinations": [{
                    "name": d.name, "skipped": d.skipped,
                    "subs": [{"name": s.name, "action": s.action, "enabled": s.enabled, "matched": s.matched,
                              "trigger": s.trigger, "trigger_error": s.trigger_error, "error": s.error,
                              "insert_ids_added": s.insert_ids_added, "warnings": s.warnings,
                              "requests": [request_view(r, self._amplitude_url()) for r in s.requests]}
                             for s in d.subscriptions],
                    "fired": len(d.fired),
                } for d in trial.destinations],
            }
        status = 200 if error is None else 400
        return self.page(request, "tester.html", status, title="Event tester", event_text=text,
                         recent=self._recent(), result=result, error=error)

    def _recent(self) -> list[dict[str, str]]:
        return [{"id": e.message_id, "label": f"{_iso(e.at)[11:19]} {e.summary} ({e.user or 'no user'})"}
                for e in self.activity.live(limit=30) if e.message_id]

    # --- live events ---------------------------------------------------------------------------
    def _live_ctx(self) -> dict[str, Any]:
        return {"events": self.activity.live(limit=100), "seq": self.activity.seq, "now": time.time(),
                "destinations": [d.name for d in self.relay.destinations]}

    async def live(self, request: Request) -> Response:
        return self.page(request, "live.html", title="Live events", **self._live_ctx())

    async def live_rows(self, request: Request) -> Response:
        after = request.query_params.get("after", "")
        if after.isdigit() and int(after) >= self.activity.seq:
            return Response(status_code=204, headers={"Cache-Control": "no-store"})
        ctx = self._live_ctx()
        resp = self.page(request, "_live_rows.html", **ctx)
        resp.headers["X-Seq"] = str(ctx["seq"])
        return resp

    # --- dead letters --------------------------------------------------------------------------
    def _filter(self, params: Any) -> tuple[DeadLetterFilter, dict[str, str]]:
        raw = {k: str(params.get(k) or "").strip() for k in ("destination", "kind", "reason", "message_id", "since")}
        since = SINCE_SECONDS.get(raw["since"])
        flt = DeadLetterFilter(destination=raw["destination"] or None, kind=raw["kind"] or None,
                               reason_contains=raw["reason"] or None, message_id=raw["message_id"] or None,
                               since=time.time() - since if since else None)
        return flt, {k: v for k, v in raw.items() if v}

    async def dead_letters(self, request: Request) -> Response:
        flt, raw = self._filter(request.query_params)
        raw_page = request.query_params.get("page", "")
        page = int(raw_page) if raw_page.isdigit() else 0
        q = self.relay.queue
        total = await run_in_threadpool(q.count_dead, flt)
        items = await run_in_threadpool(q.list_dead, flt, PAGE_SIZE, page * PAGE_SIZE)
        stats = await run_in_threadpool(q.stats)
        dests = sorted(set(stats.dead_by_destination) | {d.name for d in self.relay.destinations})
        return self.page(request, "dead_letters.html", title="Dead letters", items=items, total=total,
                         filters=raw, page=page, pages=max(1, -(-total // PAGE_SIZE)), query=urlencode(raw),
                         destinations=dests, kinds=KINDS, since_choices=SINCE_CHOICES,
                         notice=request.query_params.get("done"))

    async def dead_letter(self, request: Request) -> Response:
        dl_id = request.path_params["id"]
        found = await run_in_threadpool(self.relay.queue.list_dead, DeadLetterFilter(ids=(dl_id,)), 1, 0)
        if not found:
            return self.page(request, "message.html", 404, title="Not found",
                             text=f"Dead letter {dl_id} is not in the store (retried or purged?).")
        d = found[0]
        try:
            entry = _pretty(orjson.loads(d.entry))
        except orjson.JSONDecodeError:
            entry = mask_text(d.entry.decode("utf-8", "replace"))
        template = _pretty(dict(d.route.template)) if d.route.template else ""
        return self.page(request, "dead_letter.html", title=f"Dead letter {d.id}", d=d, entry=entry,
                         rest=template, kind=d.route.kind)

    async def dead_letters_act(self, request: Request) -> Response:
        action = request.path_params["action"]
        if action not in ("retry", "purge"):
            return self.page(request, "message.html", 404, title="Not found", text="Unknown action.")
        form = request.state.form
        ids = tuple(int(v) for v in form.getlist("id") if str(v).isdigit())
        flt, raw = self._filter(form)
        scope = str(form.get("scope") or "selected")
        if scope == "selected":
            if not ids:
                return RedirectResponse("/console/dead-letters?" + urlencode({**raw, "done": "Nothing selected."}),
                                        303)
            flt = DeadLetterFilter(ids=ids)
        q = self.relay.queue
        if action == "retry":
            n = await run_in_threadpool(q.requeue_dead, flt)
            if n and self.wake is not None:
                self.wake()
            done = f"Put {n} dead letter(s) back in the queue."
            if scope == "selected" and n < len(ids):
                done += f" {len(ids) - n} could not be retried (rejected messages never became a request)."
        else:
            n = await run_in_threadpool(q.purge_dead, flt)
            done = f"Purged {n} dead letter(s)."
        return RedirectResponse("/console/dead-letters?" + urlencode({**raw, "done": done}), 303)


def _configured_subs(dest_config: DestinationConfig) -> list[SubscriptionConfig | None]:
    """The configured subscription for each compiled one (None for a preset), in order."""
    from amprelay.config import all_subscriptions

    own = {id(s) for s in dest_config.subscriptions}
    return [s if id(s) in own else None for s in all_subscriptions(dest_config)]
