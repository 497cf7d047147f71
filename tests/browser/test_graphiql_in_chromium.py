"""GraphiQL at /graphql in a real browser against the real product with a token: the token
typed into the headers editor carries a query and a mutation over HTTP and a subscription
over graphql-transport-ws; the page asks no host but its own."""

from __future__ import annotations

import json
import time

from playwright.async_api import Page, expect

from tests.browser.conftest import Hosts, StartUptime

TOKEN = "graphiql-t0ken"
RESULT = "document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"
# GraphiQL's editor tools hold two editors: variables, then headers.
SET_TOOL = """([index, text]) => {
  const editors = document.querySelectorAll('.graphiql-editor-tool .graphiql-editor');
  editors[index].querySelector('.CodeMirror').CodeMirror.setValue(text);
}"""
VARIABLES, HEADERS = 0, 1


async def open_tab(page: Page, index: int, headers: dict[str, str]) -> None:
    await page.locator(".graphiql-tab").nth(index).click()
    await page.evaluate(SET_TOOL, [HEADERS, json.dumps(headers)])


async def run(page: Page) -> None:
    # The editor settles the operation name a moment after a tab opens.
    await page.wait_for_timeout(300)
    await page.locator(".graphiql-execute-button").click()


async def result(page: Page, contains: str, within: float = 10) -> dict[str, object]:
    """The result pane's JSON once it holds ``contains`` (polled: the page's
    Content-Security-Policy forbids the eval that wait_for_function would need)."""
    deadline = time.monotonic() + within
    text = ""
    while time.monotonic() < deadline:
        text = await page.evaluate(RESULT)
        if contains in text:
            answer: dict[str, object] = json.loads(text)
            return answer
        await page.wait_for_timeout(100)
    raise AssertionError(f"no {contains!r} in the result within {within} s: {text[:500]}")


async def test_query_mutation_and_subscription_with_the_token(
    page: Page, page_hosts: Hosts, start_uptime: StartUptime
) -> None:
    uptime = start_uptime(token=TOKEN)
    await page.goto(f"{uptime.url}/graphql")
    await expect(page.locator(".graphiql-container")).to_be_visible()
    await expect(page.locator(".graphiql-tab")).to_have_count(3)
    bearer = {"Authorization": f"Bearer {TOKEN}"}

    # The dashboard query (tab 1), over HTTP with the header.
    await open_tab(page, 0, bearer)
    await run(page)
    answer = await result(page, '"targets"')
    assert answer["data"] == {  # no targets yet
        "targets": {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
    }

    # The mutation (tab 2): the prefilled target, checked every second here.
    await open_tab(page, 1, bearer)
    variables = {
        "input": {
            "name": "uptime API",
            "kind": "HTTP",
            "url": f"{uptime.url}/healthz",
            "intervalSeconds": 1,
            "timeoutSeconds": 1,
        }
    }
    await page.evaluate(SET_TOOL, [VARIABLES, json.dumps(variables)])
    await run(page)
    created = await result(page, '"createTarget"')
    assert created["data"]["createTarget"].get("name") == "uptime API", created  # type: ignore[index]

    # The subscription (tab 3), over graphql-transport-ws with the token in connection_init.
    await open_tab(page, 2, bearer)
    await run(page)
    check = await result(page, '"checkCompleted"', within=15)
    event = check["data"]["checkCompleted"]  # type: ignore[index]
    assert event["target"] == {"name": "uptime API"} and event["status"] == "UP"
    await page.locator(".graphiql-execute-button").click()  # stop it

    # A wrong token: the WebSocket is refused, and the page says what to do.
    await page.evaluate(SET_TOOL, [HEADERS, json.dumps({"Authorization": "Bearer wrong"})])
    await run(page)
    refused = await result(page, "refused the token")
    assert "headers editor" in json.dumps(refused)

    assert page_hosts.hosts == {uptime.host}, page_hosts.urls
    assert any(url.startswith("ws://") for url in page_hosts.urls)
    assert page_hosts.errors == []
