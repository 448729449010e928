/**
 * The status page's HTML, CSS and JavaScript, as string constants: the
 * single executable (`deno compile`) and the bundle carry them, and
 * nothing is read from disk at run time. The script builds the page with
 * DOM calls and `textContent` only (never HTML from data), and the CSP
 * allows scripts and styles from this origin alone.
 */
import { escapeHtml, htmlPage } from "../html_page.ts";

export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; " +
  "style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'";

const escape = escapeHtml;

function page(title: string, body: string): string {
  return htmlPage(
    title,
    `<link rel="icon" href="/status/icon.svg">\n<link rel="stylesheet" href="/status/style.css">`,
    body,
  );
}

/**
 * The login form; `message` (ours, escaped) says why the last attempt
 * failed. With scripts on, login.js logs in with SCRAM instead of posting
 * the password (the form's PLAIN post is the fallback without scripts or
 * WebCrypto).
 */
export function loginPage(message?: string): string {
  return page(
    "Parley status: log in",
    `<main class="login">
<h1>Parley status</h1>
<p>Log in with an admin's XMPP address and password.</p>
${message ? `<p class="error" id="error" role="alert">${escape(message)}</p>` : ""}
<form method="post" action="/status/login">
<label>Address <input name="jid" id="jid" type="email" autocomplete="username" required
 placeholder="admin@example.net"></label>
<label>Password <input name="password" id="password" type="password"
 autocomplete="current-password" required></label>
<button type="submit" id="login">Log in</button>
</form>
<p class="muted" id="method"></p>
</main>
<script src="/status/login.js"></script>`,
  );
}

/** The dashboard shell: app.js fills it from /status/data and /status/events. */
export function dashboardPage(admin: string): string {
  return page(
    "Parley status",
    `<header>
<h1>Parley status</h1>
<form method="post" action="/status/logout" class="logout">
<span class="who">${escape(admin)}</span> <button type="submit">Log out</button>
</form>
</header>
<main id="app" data-state="loading">
<section class="summary" id="summary"><p>Loading…</p></section>
<section><h2>Sessions</h2><div id="sessions"></div></section>
<section><h2>Hosts</h2><div id="hosts"></div></section>
<section><h2>Listeners</h2><div id="listeners"></div></section>
<section><h2>Federation</h2><div id="s2s"></div></section>
<section><h2>Components</h2><div id="components"></div></section>
</main>
<footer id="live">connecting…</footer>
<script src="/status/app.js"></script>`,
  );
}

export const STYLE_CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #f6f7f9; --card: #fff; --muted: #5c6570;
  --ok: #17803d; --warn: #a15c00; --off: #8a939c; --line: #d8dde3; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e8eb; --bg: #14171a; --card: #1e2226; --muted: #9aa3ad; --line: #333a41;
    --ok: #4cc477; --warn: #e0a040; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; justify-content: space-between;
  padding: .75rem 1rem; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { font-size: 1.25rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 1.25rem 0 .5rem; }
main { padding: 0 1rem 2rem; max-width: 72rem; margin: 0 auto; }
main.login { max-width: 24rem; padding-top: 3rem; }
form label { display: block; margin: .75rem 0; }
input { display: block; width: 100%; padding: .6rem; font: inherit; margin-top: .25rem;
  border: 1px solid var(--line); border-radius: .4rem; background: var(--card); color: var(--fg); }
button { font: inherit; padding: .5rem 1rem; border-radius: .4rem; border: 1px solid var(--line);
  background: var(--card); color: var(--fg); cursor: pointer; }
.error { color: #c62828; font-weight: 600; }
.who { color: var(--muted); overflow-wrap: anywhere; }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .5rem;
  margin-top: 1rem; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .6rem; }
.stat b { display: block; font-size: 1.2rem; }
.stat span { color: var(--muted); font-size: .85rem; }
.user { background: var(--card); border: 1px solid var(--line); border-radius: .5rem;
  margin: .5rem 0; padding: .5rem .75rem; }
.user h3 { font-size: 1rem; margin: 0 0 .25rem; overflow-wrap: anywhere; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .3rem .4rem; border-top: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 500; font-size: .85rem; }
.tag { display: inline-block; padding: 0 .4rem; border-radius: .6rem; font-size: .8rem;
  border: 1px solid currentColor; margin: 0 .2rem .2rem 0; white-space: nowrap; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .off { color: var(--off); }
.muted { color: var(--muted); }
footer { text-align: center; color: var(--muted); font-size: .8rem; padding: 1rem; }
td { overflow-wrap: anywhere; }
/* A phone: each row becomes a small card of "label: value" lines. */
@media (max-width: 40rem) {
  table thead { display: none; }
  table tr { display: block; border-top: 1px solid var(--line); padding: .3rem 0; }
  table td { display: block; border: 0; padding: .1rem 0; }
  table td::before { content: attr(data-label) ": "; color: var(--muted); font-size: .85rem; }
}
`;

export const APP_JS = `"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const h = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  };
  const tag = (text, cls) => h("span", { class: "tag " + cls }, text);
  const duration = (s) => {
    const d = Math.floor(s / 86400), hh = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    return (d ? d + "d " : "") + (d || hh ? hh + "h " : "") + m + "m " + (s % 60) + "s";
  };
  const stat = (value, label) => h("div", { class: "stat" }, h("b", {}, String(value)), h("span", {}, label));
  const table = (cls, heads, rows) => {
    const t = h("table", { class: cls });
    t.append(h("thead", {}, h("tr", {}, ...heads.map((x) => h("th", {}, x)))));
    const body = h("tbody");
    for (const r of rows) body.append(h("tr", {}, ...r.map((c, i) => h("td", { "data-label": heads[i] }, c))));
    t.append(body);
    return t;
  };
  const empty = (text) => h("p", { class: "muted" }, text);

  function resourceRow(r) {
    const state = h("span", {});
    state.append(r.connected ? tag("connected", "ok") : tag("hibernating", "warn"));
    state.append(r.available ? tag("available" + (r.show ? " (" + r.show + ")" : ""), "ok") : tag("unavailable", "off"));
    state.append(r.interested ? tag("interested", "ok") : tag("not interested", "off"));
    let sm = "off";
    if (r.sm) {
      sm = "on" + (r.sm.resumable ? ", resumable" : "") + ", unacked " + r.sm.unacked +
        (r.sm.expiresInSeconds !== null ? ", ends in " + r.sm.expiresInSeconds + "s" : "");
    }
    return [r.resource, r.transport ?? "—", String(r.priority), state, sm, r.address ?? "—"];
  }

  function render(d) {
    $("app").dataset.state = "ready";
    $("summary").replaceChildren(
      stat(duration(d.uptimeSeconds), "uptime"),
      stat(d.version, "version"),
      stat(d.totals.users, "users online"),
      stat(d.totals.resources, "resources"),
      stat(d.s2s.outgoing.length + d.s2s.incoming.length, "s2s links"),
    );
    const users = d.users.map((u) => h("div", { class: "user", "data-jid": u.jid },
      h("h3", {}, u.jid),
      table("resources", ["resource", "transport", "priority", "state", "stream management", "address"],
        u.resources.map(resourceRow))));
    if (d.totals.listed < d.totals.resources) {
      users.push(empty((d.totals.resources - d.totals.listed) + " more resources not listed"));
    }
    $("sessions").replaceChildren(...(users.length ? users : [empty("No one is connected.")]));
    $("hosts").replaceChildren(table("", ["domain", "kind", "services"], d.hosts.map((x) =>
      [x.domain, x.kind + (x.parent ? " of " + x.parent : ""), x.services.join(", ") || "—"])));
    $("listeners").replaceChildren(table("", ["listener", "interfaces", "port"], d.listeners.map((l) =>
      [l.name, l.enabled ? l.interfaces.join(", ") : "disabled", l.port === null ? "—" : String(l.port)])));
    const links = [
      ...d.s2s.outgoing.map((l) => ["out", l.local + " → " + l.remote, l.ready ? "ready" : "connecting"]),
      ...d.s2s.incoming.map((l) => ["in", l.remote.join(", ") || "(not authenticated yet)", "open"]),
    ];
    $("s2s").replaceChildren(!d.s2s.enabled ? empty("Federation is off.")
      : links.length ? table("", ["direction", "domains", "state"], links) : empty("No links."));
    $("components").replaceChildren(d.components.length
      ? table("", ["domain", "state"], d.components.map((c) => [c.domain, c.connected ? "connected" : "not connected"]))
      : empty("No components configured."));
    $("live").textContent = "updated " + new Date(d.now).toLocaleTimeString();
  }

  let poll;
  const refresh = async () => {
    try {
      const res = await fetch("/status/data", { credentials: "same-origin", cache: "no-store" });
      if (res.status === 401) return location.reload();
      if (res.ok) render(await res.json());
    } catch (e) { $("live").textContent = "offline: " + e; }
  };
  const startPolling = (seconds) => { if (!poll) poll = setInterval(refresh, seconds * 1000); };

  refresh();
  if (window.EventSource) {
    const events = new EventSource("/status/events");
    events.addEventListener("status", (e) => render(JSON.parse(e.data)));
    events.addEventListener("expired", () => { events.close(); location.reload(); });
    events.onerror = () => { if (events.readyState === EventSource.CLOSED) startPolling(5); };
  } else startPolling(5);
})();
`;

/** The tab's icon (else the browser asks for /favicon.ico, which is not ours). */
export const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">
<circle cx="8" cy="8" r="7" fill="#17803d"/><path d="M4 8.5l2.5 2.5 5-5" stroke="#fff" stroke-width="2"
 fill="none"/></svg>
`;

/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) in the browser with WebCrypto,
 * against /status/scram. Names are escaped as RFC 5802 §5.1 says; the
 * password is NFKC-normalized (SASLprep's main step).
 */
export const LOGIN_JS = `"use strict";
(() => {
  const form = document.querySelector("form[action='/status/login']");
  const subtle = window.crypto && window.crypto.subtle;
  if (!form || !subtle || !window.fetch) return;
  const enc = new TextEncoder();
  const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
  const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const hmac = async (key, data) => {
    const k = await subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return new Uint8Array(await subtle.sign("HMAC", k, typeof data === "string" ? enc.encode(data) : data));
  };
  const show = (text) => {
    let p = document.getElementById("error");
    if (!p) {
      p = document.createElement("p");
      p.id = "error";
      p.className = "error";
      p.setAttribute("role", "alert");
      form.before(p);
    }
    p.textContent = text;
  };
  const post = async (body) => {
    const res = await fetch("/status/scram", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(answer.error || ("HTTP " + res.status));
    return answer;
  };
  async function login(jid, password) {
    const local = jid.slice(0, jid.lastIndexOf("@"));
    const name = local.normalize("NFKC").replace(/=/g, "=3D").replace(/,/g, "=2C");
    const nonce = b64(crypto.getRandomValues(new Uint8Array(18)));
    const firstBare = "n=" + name + ",r=" + nonce;
    const first = await post({ mechanism: "SCRAM-SHA-256", jid, data: btoa("n,," + firstBare) });
    const serverFirst = atob(first.data);
    const attrs = Object.fromEntries(serverFirst.split(",").map((a) => [a[0], a.slice(2)]));
    if (!attrs.r || !attrs.r.startsWith(nonce) || !attrs.s || !(+attrs.i >= 1)) {
      throw new Error("The server's SCRAM answer is not valid.");
    }
    const pass = await subtle.importKey("raw", enc.encode(password.normalize("NFKC")), "PBKDF2", false, ["deriveBits"]);
    const salted = new Uint8Array(await subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: unb64(attrs.s), iterations: +attrs.i }, pass, 256));
    const clientKey = await hmac(salted, "Client Key");
    const storedKey = new Uint8Array(await subtle.digest("SHA-256", clientKey));
    const withoutProof = "c=biws,r=" + attrs.r;
    const authMessage = firstBare + "," + serverFirst + "," + withoutProof;
    const signature = await hmac(storedKey, authMessage);
    const proof = clientKey.map((b, i) => b ^ signature[i]);
    const final = await post({ id: first.id, data: btoa(withoutProof + ",p=" + b64(proof)) });
    // The server proves it knew the credentials too (RFC 5802 §3).
    const serverKey = await hmac(salted, "Server Key");
    const expected = "v=" + b64(await hmac(serverKey, authMessage));
    if (atob(final.data || "") !== expected) throw new Error("The server's SCRAM signature is wrong.");
  }
  document.getElementById("method").textContent = "Your password stays in this browser (SCRAM-SHA-256).";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = document.getElementById("login");
    button.disabled = true;
    try {
      await login(form.elements.jid.value.trim(), form.elements.password.value);
      location.replace("/status");
    } catch (err) {
      show(err.message || String(err));
      button.disabled = false;
    }
  });
})();
`;
