/**
 * A real browser over XMPP-over-WebSocket: headless Chromium (Debian's
 * `chromium`, driven by playwright-core; its own browser download cannot
 * work here) loads a page from the server's origin, logs in over
 * /xmpp-websocket with the browser's own WebSocket (SASL PLAIN, restart,
 * bind), and sends a message that a TCP client receives; the TCP client's
 * answer reaches the page.
 *
 * Skipped, with a message, where /usr/bin/chromium is missing (`.ci/run`
 * installs it).
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { haveChromium, launchChromium } from "../helpers/browser.ts";

/**
 * Runs in the page: a minimal RFC 7395 client on the browser's own
 * WebSocket. Plain JavaScript in a string: the test's type check has no DOM.
 */
const IN_PAGE = `async ({ url, user, password, peer }) => {
  const ws = new WebSocket(url, "xmpp");
  const inbox = [];
  let wake;
  ws.onmessage = (e) => {
    inbox.push(new DOMParser().parseFromString(e.data, "text/xml"));
    wake?.();
  };
  const next = async (name) => {
    for (let i = 0; i < 200; i++) {
      const at = inbox.findIndex((d) => d.documentElement.localName === name);
      if (at >= 0) return inbox.splice(at, 1)[0].documentElement;
      await new Promise((r) => { wake = r; setTimeout(r, 50); });
    }
    throw new Error("no <" + name + "/> from the server");
  };
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  const open = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>";
  ws.send(open);
  await next("open");
  const features = await next("features");
  if (!features.textContent.includes("PLAIN")) throw new Error("PLAIN not offered");
  ws.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
    btoa("\\0" + user + "\\0" + password) + "</auth>");
  await next("success");
  ws.send(open);
  await next("open");
  await next("features");
  ws.send("<iq type='set' id='bind' xmlns='jabber:client'>" +
    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>chromium</resource></bind></iq>");
  const bound = await next("iq");
  const jid = bound.getElementsByTagName("jid")[0]?.textContent ?? "";
  ws.send("<presence xmlns='jabber:client'/>");
  ws.send("<message xmlns='jabber:client' to='" + peer + "' type='chat' id='b1'>" +
    "<body>hello from chromium</body></message>");
  const reply = await next("message");
  const answer = reply.getElementsByTagName("body")[0]?.textContent ?? "";
  ws.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
  return jid + " | " + answer;
}`;

Deno.test({
  name: "browser: headless Chromium logs in over WebSocket and messages a TCP client",
  ignore: !haveChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startTestServer();
    // Chromium may treat the intercepted page as public and block its
    // WebSocket to a loopback server (Local Network Access).
    const browser = await launchChromium(["--disable-features=LocalNetworkAccessChecks"]);
    const bob = await TestClient.login({
      port: server.ports.c2s,
      user: "bob",
      password: "builder",
      resource: "tcp",
    });
    try {
      const origin = `http://127.0.0.1:${server.ports.http}`;
      const page = await browser.newPage();
      // The page comes from the WebSocket's own origin, as a web client's would.
      await page.route(
        `${origin}/client.html`,
        (route) =>
          route.fulfill({ contentType: "text/html", body: "<!doctype html><title>xmpp</title>" }),
      );
      await page.goto(`${origin}/client.html`);
      const args = {
        url: `ws://127.0.0.1:${server.ports.http}/xmpp-websocket`,
        user: "alice",
        password: "wonderland",
        peer: "bob@localhost/tcp",
      };
      const result = page.evaluate(`(${IN_PAGE})(${JSON.stringify(args)})`) as Promise<string>;
      const got = await bob.stanza(
        (e) => e.name === "message" && e.getChildText("body") === "hello from chromium",
        20_000,
      );
      assert.equal(got.attrs.from, "alice@localhost/chromium");
      bob.send(`<message to='${got.attrs.from}' type='chat'><body>hello, browser</body></message>`);
      assert.equal(await result, "alice@localhost/chromium | hello, browser");
    } finally {
      await browser.close();
      bob.socket.destroy();
      await server.stop();
    }
  },
});
