/**
 * Federation with a real Prosody (Debian's `prosody` package), run inside
 * a private network namespace by tests/integration/prosody_federation_test.ts
 * (`deno run -A prosody_interop.ts dialback|ca`). Parley serves
 * parley.test on 127.0.0.2, Prosody serves prosody.test on 127.0.0.3,
 * both on port 5269: fixed addresses and ports are safe because nothing
 * else lives in the namespace. Parley reaches Prosody through
 * `s2s.hosts`; Prosody finds Parley through a hosts file of its own (its
 * unbound resolver's `hoststxt`), so /etc/hosts is never read or changed.
 * With self-signed certificates the servers authenticate each other with
 * dialback; with certificates from a test CA made here, both require
 * valid certificates and authenticate with SASL EXTERNAL (XEP-0178), which
 * Prosody's debug log confirms for each direction.
 *
 * Prosody is this process's child, stopped by its PID; and since this
 * process is the namespace's init, the kernel ends anything left in the
 * namespace when it exits.
 */
import assert from "node:assert/strict";
import { TestClient } from "./client.ts";
import { waitForPort } from "./wait_port.ts";
import { startTestServer } from "./server.ts";
import { generateSelfSigned } from "../../src/tls/selfsigned.ts";
import { createTestCa, type PemPair } from "./test_ca.ts";
import type { Element } from "../../src/xml/element.ts";

const PARLEY_ADDR = "127.0.0.2";
const PROSODY_ADDR = "127.0.0.3";
const PROSODY_C2S = 15222;
const ROSTER = "jabber:iq:roster";

/** Dialback between self-signed servers, or SASL EXTERNAL with a test CA. */
export type Auth = "dialback" | "ca";

function prosodyConfig(dir: string, auth: Auth): string {
  const cafile = auth === "ca" ? `; cafile = "${dir}/ca.crt"` : "";
  return `
run_as_root = true
daemonize = false
pidfile = "${dir}/prosody.pid"
data_path = "${dir}/data"
log = { debug = "${dir}/prosody.log" }
interfaces = { "${PROSODY_ADDR}" }
local_interfaces = { "${PROSODY_ADDR}" }
c2s_ports = { ${PROSODY_C2S} }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
s2s_ports = { 5269 }
s2s_direct_tls_ports = { }
component_ports = { }
http_ports = { }
https_ports = { }
modules_enabled = { "roster"; "saslauth"; "tls"; "dialback"; "disco"; "ping"; "presence" }
authentication = "internal_plain"
s2s_require_encryption = true
s2s_secure_auth = ${auth === "ca"}
-- Names from this directory only: the namespace has no DNS server, and
-- the one resolv.conf names refuses at once, so SRV lookups fail fast.
unbound = { hoststxt = "${dir}/hosts"; resolvconf = "${dir}/resolv.conf" }
ssl = { certificate = "${dir}/prosody.test.crt"; key = "${dir}/prosody.test.key"${cafile} }
VirtualHost "prosody.test"
`;
}

const isPresence = (from: string, type?: string) => (e: Element) =>
  e.name === "presence" && e.attrs.from?.startsWith(from) && e.attrs.type === type;

const rosterPush = (jid: string, subscription: string) => (e: Element) =>
  e.name === "iq" && e.attrs.type === "set" &&
  e.getChild("query", ROSTER)?.getChild("item")?.attrs.jid === jid &&
  e.getChild("query", ROSTER)?.getChild("item")?.attrs.subscription === subscription;

/** The certificates each side serves, and Parley's s2s policy for the run. */
async function certificates(dir: string, auth: Auth): Promise<Record<string, unknown>> {
  let prosody: PemPair;
  let parley: Record<string, unknown> = {};
  if (auth === "dialback") {
    // Parley generates its own self-signed certificate.
    prosody = await generateSelfSigned(["prosody.test"]);
  } else {
    const ca = await createTestCa("Parley Interop Test CA");
    await Deno.writeTextFile(`${dir}/ca.crt`, ca.certPem);
    prosody = await ca.issue(["prosody.test"]);
    const own = await ca.issue(["parley.test"]);
    await Deno.writeTextFile(`${dir}/parley.test.crt`, own.certPem);
    await Deno.writeTextFile(`${dir}/parley.test.key`, own.keyPem);
    parley = {
      tls: { certificate: `${dir}/parley.test.crt`, key: `${dir}/parley.test.key` },
      // Dialback off: a certificate is the only way either side gets in.
      s2s: { caFile: `${dir}/ca.crt`, requireValidCertificates: true, allowDialback: false },
    };
  }
  await Deno.writeTextFile(`${dir}/prosody.test.crt`, prosody.certPem);
  await Deno.writeTextFile(`${dir}/prosody.test.key`, prosody.keyPem);
  return parley;
}

/** SIGTERM to the child we started, SIGKILL if it is still there 10 s later. */
async function stopByPid(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), 10_000));
  if (await Promise.race([child.status, late]) === "late") {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
  }
  clearTimeout(timer);
}

/** Start Prosody and Parley, exchange messages, subscriptions and presence, stop both. */
export async function federate(auth: Auth): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parley-prosody-" });
  const parleyOverrides = await certificates(dir, auth);
  await Deno.writeTextFile(`${dir}/prosody.cfg.lua`, prosodyConfig(dir, auth));
  await Deno.writeTextFile(
    `${dir}/hosts`,
    `${PARLEY_ADDR} parley.test\n${PROSODY_ADDR} prosody.test\n`,
  );
  await Deno.writeTextFile(`${dir}/resolv.conf`, "nameserver 127.0.0.1\n");
  await Deno.mkdir(`${dir}/data`);
  const cfg = ["--config", `${dir}/prosody.cfg.lua`];
  const reg = await new Deno.Command("prosodyctl", {
    args: [...cfg, "register", "romeo", "prosody.test", "montague"],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(reg.success, new TextDecoder().decode(reg.stderr));
  const prosody = new Deno.Command("prosody", {
    args: [...cfg, "-F"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const prosodyLog = () => Deno.readTextFile(`${dir}/prosody.log`).catch(() => "");
  const clients: TestClient[] = [];
  let server: Awaited<ReturnType<typeof startTestServer>> | undefined;
  try {
    server = await startTestServer({
      hosts: ["parley.test"],
      listeners: {
        c2s: { interfaces: [PARLEY_ADDR] },
        c2sDirectTls: { interfaces: [PARLEY_ADDR] },
        s2s: { interfaces: [PARLEY_ADDR], port: 5269 },
      },
      ...parleyOverrides,
      s2s: {
        ...(parleyOverrides.s2s as Record<string, unknown> | undefined),
        hosts: { "prosody.test": `${PROSODY_ADDR}:5269` },
      },
    }, { juliet: "capulet" });
    await waitForPort(PROSODY_ADDR, 5269, 15_000);
    await waitForPort(PROSODY_ADDR, PROSODY_C2S, 15_000);
    const juliet = await TestClient.login({
      port: server.ports.c2s,
      address: PARLEY_ADDR,
      domain: "parley.test",
      user: "juliet",
      password: "capulet",
      resource: "balcony",
    });
    clients.push(juliet);
    const romeo = await TestClient.login({
      port: PROSODY_C2S,
      address: PROSODY_ADDR,
      domain: "prosody.test",
      user: "romeo",
      password: "montague",
      mechanism: "SCRAM-SHA-1",
      resource: "orchard",
    });
    clients.push(romeo);
    const wait = 20_000;
    // Roster pushes go to interested resources: those that fetched the roster.
    for (const c of [juliet, romeo]) {
      c.send(`<iq type='get' id='roster0'><query xmlns='${ROSTER}'/></iq>`);
      await c.stanza((e) => e.name === "iq" && e.attrs.id === "roster0");
    }

    // Messages both ways.
    juliet.send(
      "<message to='romeo@prosody.test' type='chat' id='j1'><body>Wherefore art thou</body></message>",
    );
    const toRomeo = await romeo.stanza((e) => e.name === "message" && e.attrs.id === "j1", wait);
    assert.equal(toRomeo.attrs.from, "juliet@parley.test/balcony");
    romeo.send(
      "<message to='juliet@parley.test/balcony' type='chat' id='r1'><body>Here</body></message>",
    );
    const toJuliet = await juliet.stanza(
      (e) => e.name === "message" && e.attrs.id === "r1",
      wait,
    );
    assert.equal(toJuliet.attrs.from, "romeo@prosody.test/orchard");
    assert.equal(toJuliet.getChildText("body"), "Here");

    // juliet subscribes to romeo (Parley → Prosody), romeo approves.
    juliet.send("<presence to='romeo@prosody.test' type='subscribe'/>");
    await romeo.stanza(isPresence("juliet@parley.test", "subscribe"), wait);
    romeo.send("<presence to='juliet@parley.test' type='subscribed'/>");
    await juliet.stanza(rosterPush("romeo@prosody.test", "to"), wait);
    await juliet.stanza(isPresence("romeo@prosody.test/orchard"), wait);

    // romeo subscribes to juliet (Prosody → Parley), juliet approves.
    romeo.send("<presence to='juliet@parley.test' type='subscribe'/>");
    await juliet.stanza(isPresence("romeo@prosody.test", "subscribe"), wait);
    juliet.send("<presence to='romeo@prosody.test' type='subscribed'/>");
    await juliet.stanza(rosterPush("romeo@prosody.test", "both"), wait);
    await romeo.stanza(isPresence("juliet@parley.test/balcony"), wait);

    // A presence update crosses to the subscriber.
    juliet.send("<presence><show>away</show></presence>");
    await romeo.stanza(
      (e) => isPresence("juliet@parley.test/balcony")(e) && e.getChildText("show") === "away",
      wait,
    );

    // How each direction authenticated, as Prosody logged it (debug level).
    const log = await prosodyLog();
    const dialbackElement = /Received\[s2s\w*\]: <\w+ [^>]*xmlns='jabber:server:dialback'/;
    if (auth === "ca") {
      // Prosody accepted Parley's EXTERNAL on its incoming stream, and
      // Parley accepted Prosody's on the outgoing one; no dialback at all.
      assert.match(log, /Accepting SASL EXTERNAL identity from parley\.test/, "Parley → Prosody");
      assert.match(log, /SASL EXTERNAL with parley\.test succeeded/, "Prosody → Parley");
      assert.doesNotMatch(log, dialbackElement);
    } else {
      assert.match(log, dialbackElement);
      assert.doesNotMatch(log, /SASL EXTERNAL with parley\.test succeeded/);
    }
  } catch (e) {
    // What Prosody thought of it is the first thing to read when this fails.
    const tail = (await prosodyLog()).split("\n").slice(-40).join("\n");
    console.error(`prosody.log (last lines):\n${tail}`);
    throw e;
  } finally {
    for (const c of clients) c.close();
    await server?.stop();
    await stopByPid(prosody);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const auth = Deno.args[0];
  if (auth !== "dialback" && auth !== "ca") {
    console.error("usage: prosody_interop.ts dialback|ca (inside a private network namespace)");
    Deno.exit(2);
  }
  try {
    await federate(auth);
    console.log(`prosody federation (${auth}): ok`);
    Deno.exit(0);
  } catch (e) {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    Deno.exit(1);
  }
}
