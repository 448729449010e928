/**
 * The invitation landing page (HTML built here with every value escaped,
 * a stylesheet and a tiny script for the copy button), as string
 * constants so the compiled binary carries them. Served under the status
 * page's strict CSP: scripts, styles and form posts from this origin only.
 * The form works without the script.
 */
import { escapeHtml, htmlPage } from "../../http/html_page.ts";
const escape = escapeHtml;

export interface LandingView {
  domain: string;
  /** The inviter's JID, for a user's invite. */
  inviter?: string;
  uri: string;
  token: string;
  expires: number;
  /** Preset and fixed username. */
  username?: string;
}

const CLIENTS = [
  [
    "Conversations",
    "Android",
    "https://play.google.com/store/apps/details?id=eu.siacs.conversations",
  ],
  ["Monal", "iPhone, iPad, Mac", "https://apps.apple.com/app/id317711500"],
  ["Siskin IM", "iPhone, iPad", "https://apps.apple.com/app/id1153516838"],
  ["Dino", "Linux", "https://dino.im/"],
  ["Gajim", "Windows, Linux", "https://gajim.org/download/"],
] as const;

function page(title: string, body: string): string {
  return htmlPage(
    title,
    `<meta name="referrer" content="same-origin">\n<link rel="stylesheet" href="/invite/style.css">`,
    `<main>\n${body}\n</main>\n<script src="/invite/app.js"></script>`,
  );
}

export function landingPage(v: LandingView, message?: string): string {
  const who = v.inviter
    ? `<strong>${escape(v.inviter)}</strong> invites you to chat on <strong>${
      escape(v.domain)
    }</strong>.`
    : `You are invited to create an account on <strong>${escape(v.domain)}</strong>.`;
  const clients = CLIENTS.map(([name, platforms, url]) =>
    `<li><a href="${escape(url)}" rel="noopener">${escape(name)}</a> <span class="muted">${
      escape(platforms)
    }</span></li>`
  ).join("\n");
  const user = v.username
    ? `<input name="username" id="username" value="${escape(v.username)}" readonly>`
    : `<input name="username" id="username" autocomplete="username" required maxlength="1023"
 autocapitalize="none" spellcheck="false">`;
  return page(
    `Invitation to ${v.domain}`,
    `<h1>You're invited</h1>
<p>${who}</p>
<p class="muted">Valid until <time>${escape(new Date(v.expires).toISOString())}</time>.</p>
<section>
<h2>With an app</h2>
<p>Install one of these, then open the invitation with it:</p>
<ul class="clients">
${clients}
</ul>
<p><a class="button" id="open" href="${escape(v.uri)}">Open the invitation in your app</a></p>
<p class="uri"><code id="uri">${escape(v.uri)}</code>
<button type="button" id="copy" data-copy="${escape(v.uri)}">Copy</button></p>
</section>
<section>
<h2>Or create your account here</h2>
${message ? `<p class="error" id="error" role="alert">${escape(message)}</p>` : ""}
<form method="post" action="/invite/${escape(encodeURIComponent(v.token))}" id="register">
<label>Username ${user}<span class="muted">@${escape(v.domain)}</span></label>
<label>Password <input name="password" id="password" type="password"
 autocomplete="new-password" required minlength="8"></label>
<button type="submit" id="create">Create account</button>
</form>
</section>`,
  );
}

export function registeredPage(jid: string, uri: string): string {
  return page(
    "Account created",
    `<h1>Welcome!</h1>
<p>Your account <strong id="jid">${escape(jid)}</strong> is ready.</p>
<p>Log in with this address and your password in any XMPP app.</p>
<p><a class="button" href="${escape(uri)}">Open in your app</a></p>`,
  );
}

export function invalidPage(): string {
  return page(
    "Invitation not valid",
    `<h1>Invitation not valid</h1>
<p id="error">This invitation is unknown, expired or already used. Ask for a new one.</p>`,
  );
}

export const INVITE_CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #f6f7f9; --card: #fff; --muted: #5c6570;
  --line: #d8dde3; --accent: #2a6bd1; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e8eb; --bg: #14171a; --card: #1e2226; --muted: #9aa3ad; --line: #333a41;
    --accent: #6ea2f5; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 30rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.5rem; margin: 0 0 .75rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: .6rem;
  padding: .25rem 1rem 1rem; margin-top: 1rem; }
strong, code { overflow-wrap: anywhere; }
.muted { color: var(--muted); font-size: .9rem; }
.clients { padding-left: 1.2rem; }
.clients li { margin: .3rem 0; }
a { color: var(--accent); }
.button { display: inline-block; padding: .6rem 1rem; border-radius: .4rem; background: var(--accent);
  color: #fff; text-decoration: none; }
.uri { display: flex; gap: .5rem; align-items: center; }
.uri code { flex: 1; min-width: 0; font-size: .8rem; }
label { display: block; margin: .75rem 0; }
input { display: block; width: 100%; padding: .6rem; font: inherit; margin-top: .25rem;
  border: 1px solid var(--line); border-radius: .4rem; background: var(--bg); color: var(--fg); }
button { font: inherit; padding: .5rem 1rem; border-radius: .4rem; border: 1px solid var(--line);
  background: var(--card); color: var(--fg); cursor: pointer; }
.error { color: #c62828; font-weight: 600; }
`;

/** The copy button only: everything else is plain HTML. */
export const INVITE_JS = `"use strict";
const copy = document.getElementById("copy");
if (copy) {
  copy.addEventListener("click", () => {
    const done = () => { copy.textContent = "Copied"; };
    if (navigator.clipboard) navigator.clipboard.writeText(copy.dataset.copy).then(done, () => {});
  });
}
`;
