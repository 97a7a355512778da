"""Seeded generator of a realistic mixed corpus of Segment events, shared by the benchmarks
(``bench/transform.py``, ``bench/compare_transform.py`` and ``bench/reference_transform.js``).

    from corpus import generate          # with bench/ on sys.path
    events = generate(20_000, seed=1)    # list of dicts, same list for the same (n, seed)

    python bench/corpus.py --n 20000 --seed 1 > /tmp/corpus.jsonl     # one event per line

Mix (by weight): track 45% (about a fifth of those are "Order Completed" with a ``products``
array), page 20%, identify 14%, screen 9%, group 7%, alias 5%. Contexts look like what
analytics.js, analytics-ios, analytics-android and server libraries send: user agents, campaign
(UTM) and referrer on web events, device/os/app/network on mobile ones, ``integrations`` with an
Amplitude session id on about half of the events.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import random
import sys
import uuid
from typing import Any

__all__ = ["generate", "USER_AGENTS", "write_jsonl"]

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/16.6]",
    "Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 Instagram 309.1.0.41.113 Android",
    "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
    "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15",
]
MOBILE_UAS = [
    "MyApp/1.2.3 (iPhone; iOS 17.0; Scale/3.00)",
    "okhttp/4.9.3",
    "Dalvik/2.1.0 (Linux; U; Android 13; SM-A536B Build/TP1A.220624.014)",
]
WEB_PATHS = ["/", "/pricing", "/blog/launch-week", "/docs/getting-started", "/cart", "/checkout", "/products/shoes",
             "/search", "/account/settings", "/about"]
PAGE_NAMES = ["Home", "Pricing", "Blog Post", "Docs", "Cart", "Checkout", "Product", "Search", "Settings", "About"]
SCREENS = ["Home", "Feed", "Profile", "Settings", "Product Detail", "Cart", "Checkout", "Search Results"]
TRACK_EVENTS = ["Product Viewed", "Product Added", "Cart Viewed", "Checkout Started", "Signed Up", "Logged In",
                "Song Played", "Video Watched", "Button Clicked", "Form Submitted", "Search Performed",
                "Coupon Applied", "Product Removed", "Subscription Renewed", "Order Refunded"]
REFERRERS = ["https://www.google.com/", "https://t.co/abc123", "https://news.ycombinator.com/", "",
             "https://www.facebook.com/", "https://duckduckgo.com/"]
UTM = [
    {"source": "google", "medium": "cpc", "name": "brand-search", "term": "shoes", "content": "ad-1"},
    {"source": "newsletter", "medium": "email", "name": "black-friday"},
    {"source": "twitter", "medium": "social", "name": "launch"},
    {"source": "bing", "medium": "cpc", "name": "retargeting-q4", "term": "running shoes"},
]
LOCALES = ["en-US", "en-GB", "de-DE", "fr-FR", "ja-JP", "pt-BR", "es-ES", "zh-Hans-CN"]
TIMEZONES = ["America/New_York", "Europe/Berlin", "Europe/London", "Asia/Tokyo", "America/Los_Angeles", "UTC"]
CITIES = [
    {"city": "San Francisco", "country": "United States", "region": "CA", "latitude": 37.7749, "longitude": -122.4194},
    {"city": "Berlin", "country": "Germany", "region": "BE", "latitude": 52.52, "longitude": 13.405},
    {"city": "Tokyo", "country": "Japan", "region": "Tokyo", "latitude": 35.6762, "longitude": 139.6503},
    {"city": "São Paulo", "country": "Brazil", "region": "SP", "latitude": -23.5505, "longitude": -46.6333},
    {"city": "London", "country": "United Kingdom", "region": "ENG", "latitude": 51.5072, "longitude": -0.1276},
]
PRODUCTS = [
    ("sku_1001", "Running Shoes", "Footwear", "Acme", 89.99),
    ("sku_1002", "Trail Socks", "Apparel", "Acme", 12.5),
    ("sku_1003", "Water Bottle", "Accessories", "HydroCo", 19.0),
    ("sku_1004", "Rain Jacket", "Apparel", "Stormwear", 149.0),
    ("sku_1005", "Headlamp", "Gear", "Lumen", 34.95),
    ("sku_1006", "Energy Gel 12-pack", "Nutrition", "Fuel", 24.0),
]
PLANS = ["free", "starter", "pro", "enterprise"]
LIBRARIES_WEB = [("analytics.js", "next-1.64.0")]
LIBRARIES_MOBILE = [("analytics-ios", "4.1.8"), ("analytics-android", "4.11.3"), ("analytics-swift", "1.5.1"),
                    ("analytics-kotlin", "1.14.2")]
LIBRARIES_SERVER = [("analytics-node", "2.0.0"), ("analytics-python", "2.3.2"), ("analytics-ruby", "2.4.0"),
                    ("analytics-go", "3.3.0")]
DEVICES = [
    {"manufacturer": "Apple", "model": "iPhone15,2", "type": "ios", "name": "iPhone"},
    {"manufacturer": "Apple", "model": "iPad13,4", "type": "ios", "name": "iPad"},
    {"manufacturer": "Google", "model": "Pixel 8", "type": "android", "name": "shiba"},
    {"manufacturer": "samsung", "model": "SM-S918B", "type": "android", "name": "dm3q"},
]
BASE_MS = 1_700_000_000_000  # 2023-11-14


def _iso(ms: int) -> str:
    return _dt.datetime.fromtimestamp(ms // 1000, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.users = [f"user_{self.rng.getrandbits(32):08x}" for _ in range(500)]
        self.anons = [_uuid(self.rng) for _ in range(800)]
        self.groups = [f"grp_{self.rng.getrandbits(16):04x}" for _ in range(40)]

    # ---- contexts ----
    def _base(self, etype: str) -> tuple[dict[str, Any], str]:
        r = self.rng
        ms = BASE_MS + r.randrange(0, 30 * 86_400_000)
        ev: dict[str, Any] = {"type": etype, "messageId": _uuid(r) if r.random() < 0.7 else f"ajs-next-{r.getrandbits(128):032x}",
                              "timestamp": _iso(ms), "sentAt": _iso(ms + r.randrange(0, 5000)),
                              "receivedAt": _iso(ms + r.randrange(5000, 9000)), "originalTimestamp": _iso(ms)}
        if r.random() < 0.75:
            ev["userId"] = r.choice(self.users)
        ev["anonymousId"] = r.choice(self.anons)
        platform = r.choices(["web", "mobile", "server"], weights=[55, 30, 15])[0]
        ctx: dict[str, Any] = {}
        if platform == "web":
            name, ver = LIBRARIES_WEB[0]
            i = r.randrange(len(WEB_PATHS))
            ref = r.choice(REFERRERS)
            search = "" if r.random() < 0.7 else "?utm_source=google&utm_medium=cpc"
            ctx.update({
                "library": {"name": name, "version": ver},
                "userAgent": r.choice(USER_AGENTS),
                "locale": r.choice(LOCALES),
                "ip": f"{r.randrange(1, 223)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}",
                "page": {"path": WEB_PATHS[i], "referrer": ref, "search": search, "title": PAGE_NAMES[i] + " | Example",
                         "url": "https://www.example.com" + WEB_PATHS[i] + search},
                "timezone": r.choice(TIMEZONES),
            })
            if r.random() < 0.3:
                ctx["campaign"] = dict(r.choice(UTM))
            if r.random() < 0.2:
                ctx["userAgentData"] = {"brands": [{"brand": "Chromium", "version": "120"}], "mobile": False,
                                        "platform": "Windows"}
        elif platform == "mobile":
            name, ver = r.choice(LIBRARIES_MOBILE)
            dev = dict(r.choice(DEVICES))
            dev["id"] = _uuid(r)
            if r.random() < 0.5:
                dev["advertisingId"] = _uuid(r)
            ios = dev["type"] == "ios"
            ctx.update({
                "library": {"name": name, "version": ver},
                "app": {"name": "Example", "version": f"{r.randrange(1, 6)}.{r.randrange(10)}.{r.randrange(10)}",
                        "build": str(r.randrange(100, 999)), "namespace": "com.example.app"},
                "device": dev,
                "os": {"name": "iOS" if ios else "Android", "version": r.choice(["17.1", "16.6"] if ios else ["14", "13"])},
                "network": {"carrier": r.choice(["T-Mobile", "Verizon", "Vodafone", "NTT DOCOMO"]),
                            "wifi": r.random() < 0.6, "cellular": r.random() < 0.5, "bluetooth": False},
                "screen": {"width": 390, "height": 844, "density": 3},
                "locale": r.choice(LOCALES),
                "timezone": r.choice(TIMEZONES),
                "ip": f"{r.randrange(1, 223)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}",
            })
            if r.random() < 0.3:
                ctx["userAgent"] = r.choice(MOBILE_UAS)
            if r.random() < 0.5:
                ctx["location"] = dict(r.choice(CITIES))
        else:
            name, ver = r.choice(LIBRARIES_SERVER)
            ctx["library"] = {"name": name, "version": ver}
            if r.random() < 0.4:
                ctx["ip"] = f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"
        ev["context"] = ctx
        if r.random() < 0.5:
            ev["integrations"] = {"Actions Amplitude": {"session_id": ms - r.randrange(0, 1_800_000)}}
        elif r.random() < 0.2:
            ev["integrations"] = {"All": True}
        return ev, platform

    # ---- event types ----
    def track(self) -> dict[str, Any]:
        r = self.rng
        ev, _ = self._base("track")
        if r.random() < 0.22:
            return self._order_completed(ev)
        name = r.choice(TRACK_EVENTS)
        ev["event"] = name
        props: dict[str, Any] = {}
        if name.startswith("Product"):
            sku, pname, cat, brand, price = r.choice(PRODUCTS)
            props = {"product_id": sku, "sku": sku, "name": pname, "category": cat, "brand": brand, "price": price,
                     "quantity": r.randrange(1, 4), "currency": "USD", "position": r.randrange(1, 20)}
        elif name == "Song Played":
            props = {"title": "Track " + str(r.randrange(1000)), "artist": "Band", "duration_s": r.randrange(90, 400)}
        elif name == "Search Performed":
            props = {"query": r.choice(["shoes", "rain jacket", "socks", "bottle"]), "results": r.randrange(0, 80)}
        elif name == "Order Refunded":
            props = {"order_id": f"ord_{r.getrandbits(24):06x}", "revenue": -round(r.uniform(5, 200), 2),
                     "revenueType": "Refund", "currency": "EUR"}
        elif name == "Signed Up":
            props = {"plan": r.choice(PLANS), "method": r.choice(["email", "google", "github"])}
        else:
            props = {"label": r.choice(["header", "footer", "modal"]), "value": r.randrange(0, 100),
                     "flag": r.random() < 0.5}
        ev["properties"] = props
        return ev

    def _order_completed(self, ev: dict[str, Any]) -> dict[str, Any]:
        r = self.rng
        ev["event"] = "Order Completed"
        products = []
        for _ in range(r.randrange(1, 5)):
            sku, pname, cat, brand, price = r.choice(PRODUCTS)
            products.append({"product_id": sku, "sku": sku, "name": pname, "category": cat, "brand": brand,
                             "price": price, "quantity": r.randrange(1, 4)})
        total = round(sum(p["price"] * p["quantity"] for p in products), 2)
        ev["properties"] = {"order_id": f"ord_{r.getrandbits(24):06x}", "checkout_id": _uuid(r), "total": total,
                            "revenue": total, "shipping": 4.99, "tax": round(total * 0.08, 2), "discount": 0,
                            "coupon": r.choice(["", "SPRING10", None]), "currency": "USD", "products": products}
        return ev

    def page(self) -> dict[str, Any]:
        r = self.rng
        ev, platform = self._base("page")
        i = r.randrange(len(PAGE_NAMES))
        ev["name"] = PAGE_NAMES[i]
        page = (ev["context"].get("page") or {})
        ev["properties"] = {"path": page.get("path", WEB_PATHS[i]), "referrer": page.get("referrer", ""),
                            "title": page.get("title", PAGE_NAMES[i]), "url": page.get("url", ""),
                            "search": page.get("search", "")}
        if r.random() < 0.1:
            ev["category"] = "Docs"
        return ev

    def screen(self) -> dict[str, Any]:
        r = self.rng
        ev, _ = self._base("screen")
        ev["name"] = r.choice(SCREENS)
        ev["properties"] = {"from": r.choice(SCREENS), "load_ms": r.randrange(20, 900)}
        return ev

    def identify(self) -> dict[str, Any]:
        r = self.rng
        ev, _ = self._base("identify")
        uid = ev.get("userId") or r.choice(self.users)
        ev["userId"] = uid
        traits: dict[str, Any] = {"email": f"{uid}@example.com", "plan": r.choice(PLANS),
                                  "logins": r.randrange(1, 400), "company": {"name": "Initech", "employees": 120}}
        if r.random() < 0.5:
            traits.update({"first_name": "Ada", "last_name": "Lovelace", "createdAt": _iso(BASE_MS - r.randrange(10**10))})
        if r.random() < 0.2:
            traits["address"] = {"city": "Berlin", "country": "DE"}
        ev["traits"] = traits
        return ev

    def group(self) -> dict[str, Any]:
        r = self.rng
        ev, _ = self._base("group")
        ev["groupId"] = r.choice(self.groups)
        ev["traits"] = {"name": "Initech " + ev["groupId"], "industry": r.choice(["Software", "Retail", "Finance"]),
                        "employees": r.randrange(5, 5000), "plan": r.choice(PLANS)}
        return ev

    def alias(self) -> dict[str, Any]:
        r = self.rng
        ev, _ = self._base("alias")
        ev["userId"] = r.choice(self.users)
        ev["previousId"] = r.choice(self.anons)
        return ev


_KINDS = ("track", "page", "identify", "screen", "group", "alias")
_WEIGHTS = (45, 20, 14, 9, 7, 5)


def generate(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` Segment events, deterministic for a given ``(n, seed)`` (and a prefix of a longer run
    with the same seed)."""
    g = _Gen(seed)
    kinds = g.rng.choices(_KINDS, weights=_WEIGHTS, k=n)
    return [getattr(g, k)() for k in kinds]


def write_jsonl(events: list[dict[str, Any]], fh: Any) -> None:
    for ev in events:
        fh.write(json.dumps(ev, ensure_ascii=False, separators=(",", ":")))
        fh.write("\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write a seeded realistic Segment event corpus as JSONL.")
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="-", help="output file (default: stdout)")
    a = ap.parse_args(argv)
    events = generate(a.n, a.seed)
    if a.out == "-":
        write_jsonl(events, sys.stdout)
    else:
        with open(a.out, "w", encoding="utf-8") as fh:
            write_jsonl(events, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
