"""A small, realistic sample of Segment events (a shopper's visit, a mobile screen, a B2B
account): what `amprelay demo` sends through the ingest API."""

from __future__ import annotations

from typing import Any

WEB_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")
IOS_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.1 Mobile/15E148 Safari/604.1")


def sample_events() -> list[dict[str, Any]]:
    web = {
        "library": {"name": "analytics.js", "version": "next-1.66.0"},
        "userAgent": WEB_UA,
        "ip": "203.0.113.7",
        "locale": "en-US",
        "page": {"path": "/", "referrer": "https://www.google.com/", "title": "Acme Store", "url": "https://acme.test/"},
        "campaign": {"source": "google", "medium": "cpc", "name": "winter-sale"},
    }
    session = {"Actions Amplitude": {"session_id": 1704067200000}}
    anon = "8d5b6a2e-3f0c-4a1b-9d7e-0a1b2c3d4e5f"
    events = [
        {"type": "page", "name": "Home", "anonymousId": anon, "properties": {"path": "/", "title": "Acme Store"},
         "context": web, "integrations": session, "timestamp": "2024-01-01T10:00:00.000Z"},
        {"type": "track", "event": "Product Viewed", "anonymousId": anon,
         "properties": {"product_id": "sku-42", "name": "Trail Shoe", "price": 89.5, "currency": "USD"},
         "context": web, "integrations": session, "timestamp": "2024-01-01T10:00:05.000Z"},
        {"type": "identify", "userId": "user-1001", "anonymousId": anon,
         "traits": {"email": "ada@example.com", "name": "Ada Lovelace", "plan": "pro"},
         "context": web, "integrations": session, "timestamp": "2024-01-01T10:00:30.000Z"},
        {"type": "track", "event": "Order Completed", "userId": "user-1001", "anonymousId": anon,
         "properties": {"order_id": "o-9001", "revenue": 179.0, "currency": "USD",
                        "products": [{"productId": "sku-42", "price": 89.5, "quantity": 2}]},
         "context": web, "integrations": session, "timestamp": "2024-01-01T10:02:00.000Z"},
        {"type": "screen", "name": "Cart", "userId": "user-2002", "anonymousId": "ios-device-7f3a",
         "context": {"library": {"name": "analytics-ios", "version": "4.1.8"}, "userAgent": IOS_UA,
                     "device": {"id": "ios-device-7f3a", "type": "ios", "manufacturer": "Apple",
                                "model": "iPhone15,2"},
                     "os": {"name": "iOS", "version": "17.1"}, "app": {"version": "3.2.0"}},
         "timestamp": "2024-01-01T11:00:00.000Z"},
        {"type": "group", "groupId": "acme-corp", "userId": "user-1001", "traits": {"name": "Acme Corp", "plan": "enterprise"},
         "context": web, "timestamp": "2024-01-01T10:03:00.000Z"},
        {"type": "alias", "previousId": anon, "userId": "user-1001", "context": web,
         "timestamp": "2024-01-01T10:03:30.000Z"},
    ]
    for i, ev in enumerate(events):
        ev["messageId"] = f"demo-msg-{i:04d}"
    return events
