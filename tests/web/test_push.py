"""Web Push in the web app: the opt-in switch, the service worker at /sw.js, the subscription's
round trip through the API, a push the server really sent shown by the worker, its click, and
unsubscribing on opt-out and at sign-out.

What headless Chromium cannot do here: subscribe at a real push service. Its
`pushManager.subscribe` needs Google's push service (FCM), which this machine cannot reach;
in Playwright's off-the-record contexts it fails at once ("Registration failed - permission
denied"; a persistent profile waits for FCM forever). The first test checks the app's answer
to that failure as it is. The second stands in for that one unreachable party: the page's
`PushManager.subscribe` hands out a subscription of the local Web Push service of
tests/notifications (which checks VAPID and decrypts like a real one, and holds the keys a
browser would), and whatever that service receives from the server is delivered to the
browser's service worker through the DevTools protocol (`ServiceWorker.deliverPushMessage`),
as the browser's push client would. Everything else is real: the permission, the worker's
registration and its push handler, the app's API calls, the server's encryption and sending.
The click is a `notificationclick` dispatched in the worker (headless Chromium shows no
notification one could click), so it runs the worker's handler but not the browser's user
activation: the page is routed through the app, and a window opened for a click when none is
open is not covered."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from models.core.context import Context
from models.notifications.presence import online_user_ids
from models.notifications.push import application_server_key
from tests.factories import login, make_account
from tests.notifications.helpers import eventually
from tests.notifications.push_endpoint import LocalPushService
from tests.web.conftest import new_page, problems, signed_in_page, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

# The push service client of the browser, for the one subscription the test's service made.
STAND_IN = """
(() => {
  // Kept in sessionStorage: the browser keeps a subscription across the page's loads.
  const device = %s;
  const KEY = "test.push";
  const kept = () => JSON.parse(sessionStorage.getItem(KEY) || '{"keys": [], "unsubscribed": 0}');
  const keep = (v) => sessionStorage.setItem(KEY, JSON.stringify(v));
  Object.defineProperty(window, "__push", { get: kept });
  const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const unb64 = (text) => Uint8Array.from(
    atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const made = (key) => ({
    endpoint: device.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: unb64(key).buffer },
    toJSON: () => ({ endpoint: device.endpoint, expirationTime: null, keys: device.keys }),
    unsubscribe: async () => {
      const v = kept();
      v.current = null;
      v.unsubscribed += 1;
      keep(v);
      return true;
    },
  });
  PushManager.prototype.subscribe = async function (options) {
    const v = kept();
    v.keys.push(b64(options.applicationServerKey));
    v.current = b64(options.applicationServerKey);
    keep(v);
    return made(v.current);
  };
  PushManager.prototype.getSubscription = async function () {
    const v = kept();
    return v.current ? made(v.current) : null;
  };
})();
"""

NOTIFICATIONS = (
    "navigator.serviceWorker.getRegistration('/').then((r) => r ? r.getNotifications() : [])"
    ".then((ns) => ns.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data})))"
)


@pytest.fixture
async def push_service(ctx: Context) -> AsyncIterator[LocalPushService]:
    service = LocalPushService(application_server_key(ctx.settings))
    await service.start()
    yield service
    await service.stop()


async def _subscriptions(http: httpx.AsyncClient, headers: dict[str, str]) -> list[Any]:
    r = await http.get("/api/v1/push/subscriptions", headers=headers)
    assert r.status_code == 200, r.text
    found: list[Any] = r.json()
    return found


async def test_the_worker_is_served_at_the_root_and_not_in_the_first_load(
    site: str, browser: Any
) -> None:
    async with httpx.AsyncClient(base_url=site) as http:
        r = await http.get("/sw.js")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/javascript")
        assert r.headers["cache-control"] == "no-cache"  # a new deploy's worker is seen at once
        assert "notificationclick" in r.text
    page = await new_page(browser)
    loaded: list[str] = []
    page.on("request", lambda req: loaded.append(req.url))
    await page.goto(site + "/")
    await page.locator(".card, main h1").first.wait_for()
    await page.wait_for_load_state("networkidle")
    assert not [u for u in loaded if u.endswith("/sw.js") or "/assets/push-" in u], loaded
    assert await page.evaluate("navigator.serviceWorker.getRegistration('/')") is None


async def test_headless_chromium_cannot_subscribe_and_the_app_says_so(
    site: str, browser: Any, ctx: Context, client: httpx.AsyncClient
) -> None:
    me = await make_account(ctx, client)
    page = await signed_in_page(browser, site, me)
    await page.context.grant_permissions(["notifications"], origin=site)
    await page.goto(site + "/notifications")
    switch = page.get_by_role("switch")
    await switch.click()
    status = page.locator("#push-status[role=alert]")
    await status.wait_for()
    assert "could not subscribe" in await status.inner_text()
    assert not await switch.is_checked()
    # The worker was registered at the root; nothing was registered with the server.
    script = await until(
        page,
        "navigator.serviceWorker.getRegistration('/')"
        ".then((r) => r && r.active && r.active.scriptURL)",
    )
    assert script == site + "/sw.js"
    async with httpx.AsyncClient(base_url=site) as http:
        assert await _subscriptions(http, me.headers) == []
    assert await problems(page) == []


async def test_opt_in_receive_click_opt_out_and_sign_out(
    site: str,
    browser: Any,
    ctx: Context,
    client: httpx.AsyncClient,
    worker: Any,
    push_service: LocalPushService,
) -> None:
    me, friend = await make_account(ctx, client), await make_account(ctx, client)
    device = push_service.device()
    subscription = device.subscription(push_service.origin)
    page = await new_page(
        browser,
        {"access_token": me.access_token, "refresh_token": me.refresh_token, "expires_in": 600},
    )
    await page.context.add_init_script(STAND_IN % json.dumps(subscription))
    await page.context.grant_permissions(["notifications"], origin=site)
    await page.goto(site + "/notifications")

    # On: permission (granted by the context), the worker, the server's key, the API.
    switch = page.get_by_role("switch")
    await switch.click()
    await page.get_by_text("Push notifications are on in this browser.").wait_for()
    assert await switch.is_checked()
    keys = await page.evaluate("window.__push.keys")
    assert keys == [push_service.vapid_public_key]
    async with httpx.AsyncClient(base_url=site) as http:
        (saved,) = await _subscriptions(http, me.headers)
        assert saved["endpoint"] == subscription["endpoint"]
        assert "Chrome" in saved["user_agent"]
    # Reloaded, the page finds it on.
    await page.reload()
    await page.get_by_role("switch", checked=True).wait_for()

    # The app closed (push is for then: an open app hears it on its socket), a friend
    # request: the server encrypts a push for this browser's subscription...
    await page.goto("about:blank")

    async def offline() -> bool:
        return not await online_user_ids(ctx, [me.id])

    await eventually(offline, timeout=20)
    r = await client.post(
        "/api/v1/friends/requests", json={"user_id": str(me.id)}, headers=friend.headers
    )
    assert r.status_code == 201, r.text
    await eventually(lambda: device.received, timeout=30)
    payload = device.received[0]
    assert payload["body"] == f"{friend.user.username} sent you a friend request"
    assert push_service.rejected == []

    # ...which the browser's push client hands to the service worker (the app open again).
    await page.goto(site + "/")
    cdp = await page.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    await cdp.send("ServiceWorker.enable")
    await eventually(lambda: [r for r in registrations if r["scopeURL"] == site + "/"])
    (ours,) = [r for r in registrations if r["scopeURL"] == site + "/" and not r["isDeleted"]]
    # Delivered only to an active worker: after the navigation it may still be starting.
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    for attempt in range(3):
        # A message the DevTools protocol injects while the worker is still waking is dropped
        # (no push service to retry it, as a real one does): send it again. The same tag
        # replaces, so a second delivery can never show twice.
        await cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": site, "registrationId": ours["registrationId"], "data": json.dumps(payload)},
        )
        try:
            (shown,) = await until(page, NOTIFICATIONS, timeout=10)
            break
        except AssertionError:
            if attempt == 2:
                raise
    assert shown["title"] == "Cinema"
    assert shown["body"] == payload["body"]
    assert shown["tag"] == f"n{payload['data']['id']}"
    # The same notification updated (coalesced: new text, same id) replaces it, not stacks.
    update = {**payload, "body": payload["body"] + " (updated)"}
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": site, "registrationId": ours["registrationId"], "data": json.dumps(update)},
    )
    bodies = f"{NOTIFICATIONS}.then((ns) => ns.map((n) => n.body))"
    await until(page, f"{bodies}.then((b) => b.includes({json.dumps(update['body'])}))")
    assert await page.evaluate(bodies) == [update["body"]]

    # Clicked: closed, and the open page goes where the push said (on its own origin: the
    # worker of this run mails and pushes with PUBLIC_URL http://testserver).
    assert payload["data"]["url"].endswith("/notifications")
    sw = [w for w in page.context.service_workers if w.url == site + "/sw.js"][-1]
    await sw.evaluate(
        """async () => {
          const [n] = await self.registration.getNotifications();
          try {
            self.dispatchEvent(new NotificationEvent("notificationclick", { notification: n }));
          } catch (e) {}  // waitUntil refuses a script's event; the handler ran
        }"""
    )
    await page.wait_for_url(site + "/notifications")
    await page.get_by_text(payload["body"]).first.wait_for()
    assert await until(page, f"{NOTIFICATIONS}.then((ns) => ns.length === 0)")

    # Off: the server forgets it, the browser unsubscribes.
    await page.get_by_role("switch").click()
    await page.get_by_text("Push notifications are off in this browser.").wait_for()
    async with httpx.AsyncClient(base_url=site) as http:
        assert await _subscriptions(http, me.headers) == []
        assert await page.evaluate("window.__push.unsubscribed") == 1
        assert await page.evaluate("localStorage.getItem('cinema.push')") is None

        # On again, then sign out: gone from the server too.
        await page.get_by_role("switch").click()
        await page.get_by_text("Push notifications are on in this browser.").wait_for()
        assert len(await _subscriptions(http, me.headers)) == 1
        await page.get_by_role("button", name="Sign out").click()
        await page.wait_for_url(site + "/signin")
        tokens = await login(http, me.user.email)
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert await _subscriptions(http, auth) == []
        assert await page.evaluate("window.__push.unsubscribed") == 2
    assert await problems(page) == []


async def test_a_session_ended_elsewhere_drops_the_browser_subscription(
    site: str,
    browser: Any,
    ctx: Context,
    client: httpx.AsyncClient,
    worker: Any,
    push_service: LocalPushService,
) -> None:
    me, friend = await make_account(ctx, client), await make_account(ctx, client)
    device = push_service.device()
    page = await new_page(
        browser,
        {"access_token": me.access_token, "refresh_token": me.refresh_token, "expires_in": 600},
    )
    await page.context.add_init_script(
        STAND_IN % json.dumps(device.subscription(push_service.origin))
    )
    await page.context.grant_permissions(["notifications"], origin=site)
    await page.goto(site + "/notifications")
    await page.get_by_role("switch").click()
    await page.get_by_text("Push notifications are on in this browser.").wait_for()

    # Signed out from another device: the page has no token left to tell the server with.
    r = await client.post("/api/v1/auth/logout", headers=me.headers)
    assert r.status_code in (200, 204), r.text
    # The server closes the page's socket, and the page, asking the API, signs itself out.
    await page.get_by_role("link", name="Sign in").first.wait_for()
    assert await until(page, "window.__push.unsubscribed === 1")
    assert await page.evaluate("localStorage.getItem('cinema.push')") is None

    # Unsubscribed, the push service refuses the next push with 410 and the server prunes it.
    device.gone = True
    tokens = await login(client, me.user.email)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert len(await _subscriptions(client, auth)) == 1
    r = await client.post(
        "/api/v1/friends/requests", json={"user_id": str(me.id)}, headers=friend.headers
    )
    assert r.status_code == 201, r.text

    async def pruned() -> bool:
        return await _subscriptions(client, auth) == []

    await eventually(pruned, timeout=30)
    assert await problems(page) == []
