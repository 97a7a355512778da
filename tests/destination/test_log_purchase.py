"""Log Purchase (logPurchase): revenue rules and per-product events."""

import pytest

from amprelay.engine import PayloadError
from tests.destination.helpers import CHROME_WINDOWS_UA, events_of, perform, run, track


def order(**properties):
    return track(event="Order Completed", properties=properties, context={"userAgent": CHROME_WINDOWS_UA})


def test_revenue_is_price_times_quantity():
    (main,) = events_of(run("logPurchase", order(price=2.5, quantity=3, revenue=100, revenueType="Sale", productId="p")))
    assert {k: main[k] for k in ("revenue", "revenueType", "quantity", "price", "productId")} == {
        "revenue": 7.5, "revenueType": "Sale", "quantity": 3, "price": 2.5, "productId": "p",
    }
    assert list(main)[-6:] == ["revenue", "revenueType", "quantity", "price", "productId", "library"] or "library" not in main


def test_revenue_alone_gets_default_revenue_type():
    (main,) = events_of(run("logPurchase", order(revenue="19.99")))
    assert main["revenue"] == 19.99 and main["revenueType"] == "Purchase"
    assert not {"quantity", "price", "productId"} & set(main)


@pytest.mark.parametrize("props", [{"price": 0, "quantity": 2, "revenue": 5}, {"revenue": 0}, {}])
def test_falsy_revenue_means_no_revenue_keys(props):
    (main,) = events_of(run("logPurchase", order(**props)))
    assert not {"revenue", "revenueType", "quantity", "price", "productId"} & set(main)


def test_products_become_product_purchased_events():
    props = {"revenue": 30, "products": [{"productId": "a", "price": 10, "quantity": 2}, {"productId": 7, "price": "10"}]}
    main, first, second = events_of(run("logPurchase", order(**props), overrides={"insert_id": "ins"}))
    assert main["event_type"] == "Order Completed" and main["revenue"] == 30 and main["insert_id"] == "ins"
    assert main["os_name"] == "Windows"
    for i, product_event in enumerate((first, second)):
        assert product_event["event_type"] == "Product Purchased"
        assert product_event["insert_id"] == f"ins-{i + 2}"
        assert "revenue" not in product_event
        assert "os_name" not in product_event  # no user-agent fields on product events
    assert first["event_properties"] == {"price": 10, "quantity": 2, "productId": "a"}
    assert second["event_properties"] == {"price": 10, "productId": "7"}  # coerced copy


def test_track_revenue_per_product():
    props = {"revenue": 30, "products": [{"price": 10, "quantity": 2}, {"revenue": 5}]}
    main, first, second = events_of(run("logPurchase", order(**props), overrides={"trackRevenuePerProduct": True}))
    assert "revenue" not in main
    assert (first["revenue"], first["revenueType"], first["quantity"], first["price"]) == (20, "Purchase", 2, 10)
    assert (second["revenue"], second["revenueType"]) == (5, "Purchase")
    assert "insert_id" not in first


def test_per_product_without_products_keeps_main_revenue():
    (main,) = events_of(run("logPurchase", order(revenue=3), overrides={"trackRevenuePerProduct": True}))
    assert main["revenue"] == 3


def test_single_product_object_is_arrified():
    main, product = events_of(run("logPurchase", order(products={"price": 4})))
    assert product["event_properties"] == {"price": 4}


def test_quantity_is_rounded_like_math_round():
    (request,) = perform("logPurchase", {"event_type": "E", "price": 1.5, "quantity": 2.5})
    assert request.json["events"][0]["quantity"] == 3
    (request,) = perform("logPurchase", {"event_type": "E", "price": 1.5, "quantity": -2.5})
    assert request.json["events"][0]["quantity"] == -2


def test_product_validation_errors():
    with pytest.raises(PayloadError, match="Quantity must be an integer but it was a number"):
        run("logPurchase", order(products=[{"quantity": 1.5}]))
