/**
 * The invitation landing page in a real browser: headless Chromium
 * (Debian's `chromium`, driven by playwright-core) at a phone's size opens
 * /invite/<token>, sees the inviter and the client choices, registers
 * with the form, and is shown the new JID; the new account then logs in
 * over XMPP and finds the inviter in its roster, subscribed both ways. The
 * page must run under its strict CSP with no errors and fit the phone's
 * width. A screenshot is kept at tests/artifacts/invite.png (gitignored).
 *
 * Skipped, with a message, where /usr/bin/chromium is missing.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { haveChromium, launchChromium, phonePage, screenshot } from "../helpers/browser.ts";
import { INVITE_MODULES, rosterOf, storeInvite } from "../helpers/invites.ts";

Deno.test({
  name:
    "browser: an invitee registers on /invite/<token> and logs in with the inviter in the roster",
  ignore: !haveChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startTestServer({ modules: INVITE_MODULES });
    const invite = await storeInvite(server, "alice@localhost", { roster: true });
    const browser = await launchChromium();
    let nina: TestClient | undefined;
    try {
      const { page, problems } = await phonePage(browser);
      const origin = `http://127.0.0.1:${server.ports.http}`;
      const response = await page.goto(`${origin}/invite/${invite.token}`);
      assert.equal(response?.status(), 200);
      assert.match(response?.headers()["content-security-policy"] ?? "", /script-src 'self'/);
      assert.match(await page.textContent("main") ?? "", /alice@localhost invites you/);
      const open = await page.getAttribute("#open", "href");
      assert.equal(open, `xmpp:alice@localhost?roster;preauth=${invite.token};ibr=y`);
      for (const client of ["Conversations", "Monal", "Siskin IM", "Dino", "Gajim"]) {
        assert.equal(await page.locator(`.clients a:text-is("${client}")`).count(), 1, client);
      }
      await screenshot(page, "invite.png");
      const overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      assert.ok((overflow as number) <= 0, `page is ${overflow}px wider than the phone`);

      // A taken name: the form again, with the reason.
      await page.fill("#username", "bob");
      await page.fill("#password", "nina-secret");
      await page.click("#create");
      await page.locator("#error").waitFor({ timeout: 20_000 });
      assert.match(await page.textContent("#error") ?? "", /taken/);

      await page.fill("#username", "nina");
      await page.fill("#password", "nina-secret");
      await page.click("#create");
      await page.locator("#jid").waitFor({ timeout: 20_000 });
      assert.equal(await page.textContent("#jid"), "nina@localhost");

      nina = await TestClient.login({
        port: server.ports.c2s,
        user: "nina",
        password: "nina-secret",
        resource: "phone",
      });
      assert.deepEqual(await rosterOf(nina), { "alice@localhost": "both" });

      // Spent: the link now says so.
      const again = await page.goto(`${origin}/invite/${invite.token}`);
      assert.equal(again?.status(), 404);
      assert.match(await page.textContent("#error") ?? "", /unknown, expired or already used/);
      // The form's 409 for the taken name is the one console line expected.
      assert.deepEqual(
        problems.filter((p) => !p.includes("status of 409") && !p.includes("status of 404")),
        [],
        "no script errors or CSP violations",
      );
    } finally {
      await browser.close();
      nina?.close();
      await server.stop();
    }
  },
});

Deno.test("invite page: cross-origin and originless POSTs are refused; nothing registered", async () => {
  const server = await startTestServer({ modules: INVITE_MODULES });
  try {
    const invite = await storeInvite(server, "admin");
    const url = `http://127.0.0.1:${server.ports.http}/invite/${invite.token}`;
    const body = "username=oscar&password=oscar-secret";
    const headers = { "content-type": "application/x-www-form-urlencoded" };
    const origins: Record<string, string>[] = [{ origin: "https://evil.example" }, {}];
    for (const extra of origins) {
      const r = await fetch(url, { method: "POST", body, headers: { ...headers, ...extra } });
      assert.equal(r.status, 403);
      await r.body?.cancel();
    }
    assert.equal(await server.auth.userExists("localhost", "oscar"), false);
    const ok = await fetch(url, {
      method: "POST",
      body,
      headers: { ...headers, origin: `http://127.0.0.1:${server.ports.http}` },
    });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /oscar@localhost/);
    assert.equal(await server.auth.userExists("localhost", "oscar"), true);
    // A malformed %-escape is an unknown invite, not a server error.
    const bad = await fetch(`http://127.0.0.1:${server.ports.http}/invite/%E0%A4%A`);
    assert.equal(bad.status, 404);
    await bad.body?.cancel();
  } finally {
    await server.stop();
  }
});
