/**
 * The status page in a real browser: headless Chromium (Debian's
 * `chromium`, driven by playwright-core) at a phone's size loads /status,
 * an admin logs in with the form (SCRAM-SHA-256 by the page's script), and the live view (server-sent events)
 * shows a TCP client's session appear, unavailable, then become available
 * once the client sends presence. The page must run under its strict CSP
 * with no errors and fit the phone's width. A screenshot is kept at
 * tests/artifacts/status.png (gitignored).
 *
 * Skipped, with a message, where /usr/bin/chromium is missing (`.ci/run`
 * installs it).
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { haveChromium, launchChromium, phonePage, screenshot } from "../helpers/browser.ts";

Deno.test({
  name: "browser: an admin logs in to /status and sees a TCP client's session become available",
  ignore: !haveChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startTestServer({
      admins: ["alice@localhost"],
      status: { refreshSeconds: 1 },
    });
    const browser = await launchChromium();
    let bob: TestClient | undefined;
    try {
      const { page, problems } = await phonePage(browser);
      const origin = `http://127.0.0.1:${server.ports.http}`;
      await page.goto(`${origin}/status`);
      await page.fill("#jid", "alice@localhost");
      await page.fill("#password", "not-the-password");
      // The page's script logs in with SCRAM: the password is never posted.
      const posts: string[] = [];
      page.on("request", (r) => {
        if (r.method() === "POST") posts.push(new URL(r.url()).pathname);
      });
      assert.match(await page.textContent("#method") ?? "", /SCRAM-SHA-256/);
      await page.click("#login");
      await page.locator('#error:text-is("Wrong address or password.")').waitFor({
        timeout: 20_000,
      });
      await page.fill("#password", "wonderland");
      await page.click("#login");
      await page.waitForSelector('#app[data-state="ready"]', { timeout: 20_000 }).catch(
        async (e) => {
          console.log(page.url(), await page.content(), problems);
          throw e;
        },
      );
      assert.match(await page.textContent(".who") ?? "", /alice@localhost/);
      assert.deepEqual(posts, Array(4).fill("/status/scram"));

      // The TCP client binds without presence: listed, connected, not available.
      bob = await TestClient.login({
        port: server.ports.c2s,
        user: "bob",
        password: "builder",
        resource: "tcp",
        presence: false,
      });
      // Locators, not waitForFunction: the page's CSP forbids the eval it needs.
      const bobRow =
        '.user[data-jid="bob@localhost"] tr:has(td[data-label="resource"]:text-is("tcp"))';
      const tag = (text: string) => page.locator(`${bobRow} .tag:text-is("${text}")`);
      await tag("unavailable").waitFor({ timeout: 20_000 });
      await tag("connected").waitFor({ timeout: 1_000 });
      const transport = await page.textContent(
        '.user[data-jid="bob@localhost"] td[data-label="transport"]',
      );
      assert.equal(transport, "TLS");

      // Its presence makes it available on the page, by the event stream alone.
      bob.send("<presence><priority>3</priority></presence>");
      await tag("available").waitFor({ timeout: 20_000 });
      assert.equal(await tag("unavailable").count(), 0);
      const priority = await page.textContent(
        '.user[data-jid="bob@localhost"] td[data-label="priority"]',
      );
      assert.equal(priority, "3");

      await screenshot(page, "status.png");
      // Usable on a phone: nothing wider than the screen.
      const overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      assert.ok((overflow as number) <= 0, `page is ${overflow}px wider than the phone`);
      // Logging out forgets the cookie: the login form again, and no data.
      await page.click("form.logout button");
      await page.waitForSelector("#jid", { timeout: 20_000 });
      assert.equal((await page.context().cookies()).length, 0);
      // The refused login's 401 is the one console line expected.
      assert.deepEqual(
        problems.filter((p) => !p.includes("status of 401")),
        [],
        "no script errors or CSP violations",
      );
    } finally {
      await browser.close();
      bob?.socket.destroy();
      await server.stop();
    }
  },
});
