/**
 * Config reload over real sockets: hosts, modules and certificates change
 * while a client stays connected; a broken config is refused; renewed
 * certificate files are picked up without a reload.
 */
import { configFor, RELOAD_BASE } from "../helpers/reload.ts";
import assert from "node:assert/strict";
import * as tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { errorCondition, hostFeatures, TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";
import { loadConfig } from "../../src/config/load.ts";
import { generateSelfSigned } from "../../src/tls/selfsigned.ts";
import { NS } from "../../src/xml/namespaces.ts";

async function writePair(dir: string, name: string, domains: string[]) {
  const pair = await generateSelfSigned(domains);
  const files = { certificate: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await Deno.writeTextFile(files.certificate, pair.certPem);
  await Deno.writeTextFile(files.key, pair.keyPem);
  return files;
}

/** SHA-256 fingerprint of the certificate a new TLS connection to `port` is shown for `servername`. */
function presented(port: number, servername: string, alpn?: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      servername,
      rejectUnauthorized: false,
      ALPNProtocols: alpn,
    }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.on("error", reject);
  });
}

/**
 * The same without SNI, through `openssl s_client -noservername` (Deno's
 * TLS client always names the host). Skipped (undefined) without openssl.
 */
async function presentedWithoutSni(port: number): Promise<string | undefined> {
  const out = await new Deno.Command("openssl", {
    args: ["s_client", "-connect", `127.0.0.1:${port}`, "-noservername"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => undefined);
  const pem = out && new TextDecoder().decode(out.stdout).match(
    /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/,
  );
  return pem ? new X509Certificate(pem[0]).fingerprint256 : undefined;
}

/** The fingerprint `openssl x509 -fingerprint -sha256` prints for a PEM certificate. */
async function fingerprint(certFile: string): Promise<string> {
  return new X509Certificate(await Deno.readTextFile(certFile)).fingerprint256;
}

let seq = 0;
async function ping(c: TestClient, to = c.domain) {
  const id = `p${++seq}`;
  c.send(`<iq type='get' id='${id}' to='${to}'><ping xmlns='${NS.ping}'/></iq>`);
  return await c.stanza((e) => e.name === "iq" && e.attrs.id === id);
}

Deno.test("reload adds a host and changes the certificate while a client stays connected", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-reload-" });
  const oldPair = await writePair(dir, "old", ["localhost", "b.example"]);
  const newPair = await writePair(dir, "new", ["localhost", "b.example"]);
  const server = await startTestServer({ tls: oldPair });
  try {
    const alice = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
    });
    const oldPrint = await fingerprint(oldPair.certificate);
    assert.equal(await presented(server.ports.c2sDirectTls, "localhost"), oldPrint);

    const report = await server.reload(
      configFor(server, { hosts: ["localhost", "b.example"], tls: newPair }),
    );
    assert.equal(report.ok, true, report.error);
    assert.equal(report.hostsAdded[0], "b.example");
    // Its service hosts (conference.b.example…) come with it.
    assert.ok(report.hostsAdded.includes("conference.b.example"));
    assert.equal(server.hosts.get("conference.b.example")?.parent, "b.example");
    assert.ok(report.certificatesChanged.includes("localhost"));
    assert.deepEqual(report.needsRestart, []);

    // New connections get the new certificate: direct TLS, STARTTLS, HTTPS (SNI).
    const newPrint = await fingerprint(newPair.certificate);
    assert.notEqual(newPrint, oldPrint);
    assert.equal(await presented(server.ports.c2sDirectTls, "localhost"), newPrint);
    assert.equal(await presented(server.ports.c2sDirectTls, "b.example"), newPrint);
    // And a client that sends no SNI at all (the listener's default context).
    const withoutSni = await presentedWithoutSni(server.ports.c2sDirectTls);
    if (withoutSni === undefined) console.warn("openssl missing: no-SNI check skipped");
    else assert.equal(withoutSni, newPrint);
    assert.equal(await presented(server.ports.https, "localhost"), newPrint);
    const viaStartTls = await TestClient.connect({ port: server.ports.c2s });
    await viaStartTls.open();
    await viaStartTls.starttls();
    assert.equal(
      (viaStartTls.socket as tls.TLSSocket).getPeerCertificate().fingerprint256,
      newPrint,
    );
    viaStartTls.close();

    // A client of the new host logs in, and the old connection still carries stanzas to it.
    await server.auth.createUser("b.example", "bob", "builder");
    const bob = await TestClient.login({
      port: server.ports.c2s,
      domain: "b.example",
      user: "bob",
      password: "builder",
    });
    assert.equal(alice.closed, false);
    alice.send(`<message to='bob@b.example' type='chat' id='m1'><body>still here</body></message>`);
    const got = await bob.stanza((e) => e.name === "message");
    assert.equal(got.getChildText("body"), "still here");
    assert.equal(got.attrs.from, alice.jid);
    assert.equal((await ping(alice)).attrs.type, "result");
    alice.close();
    bob.close();
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a broken config is refused with the start-up report; the old one keeps serving", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-reload-" });
  const file = join(dir, "config.json");
  const dataDir = join(dir, "data");
  const good = { ...RELOAD_BASE, hosts: ["localhost"], dataDir };
  await Deno.writeTextFile(file, JSON.stringify(good));
  const server = await startTestServer(good, undefined, { configPath: file });
  try {
    const alice = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
    });
    await Deno.writeTextFile(
      file,
      JSON.stringify({ ...good, hosts: ["localhost", "b.example"], c2s: { maxStanzaSiz: 1 } }),
    );
    const startError = await loadConfig(file).then(() => "", (e: Error) => e.message);
    assert.match(startError, /c2s\.maxStanzaSiz: unknown key/);
    const report = await server.reload();
    assert.equal(report.ok, false);
    assert.equal(report.error, startError);
    assert.equal(report.file, file);
    assert.deepEqual(report.hostsAdded, []);
    assert.ok(!server.hosts.has("b.example"));

    // Still serving the old config: the old client works, a new one logs in.
    assert.equal((await ping(alice)).attrs.type, "result");
    const again = await TestClient.login({
      port: server.ports.c2s,
      user: "bob",
      password: "builder",
    });
    assert.equal((await ping(again)).attrs.type, "result");

    // Fixed, it applies; a listener change is reported, not applied.
    await Deno.writeTextFile(
      file,
      JSON.stringify({ ...good, listeners: { ...good.listeners, c2s: { port: 1 } } }),
    );
    const fixed = await server.reload();
    assert.equal(fixed.ok, true, fixed.error);
    assert.deepEqual(fixed.needsRestart, ["listeners.c2s"]);
    assert.equal((await ping(alice)).attrs.type, "result");
    alice.close();
    again.close();
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reload unloads a removed module (its feature is gone) and loads it back", async () => {
  const server = await startTestServer();
  try {
    const alice = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
    });
    assert.ok((await hostFeatures(alice)).includes(NS.ping));
    const without = await server.reload(
      configFor(server, { hosts: [{ domain: "localhost", disabledModules: ["ping"] }] }),
    );
    assert.equal(without.ok, true, without.error);
    assert.deepEqual(without.modulesUnloaded, ["localhost: ping"]);
    assert.ok(!(await hostFeatures(alice)).includes(NS.ping));
    const refused = await ping(alice);
    assert.equal(errorCondition(refused), "service-unavailable");

    const back = await server.reload(configFor(server, { hosts: ["localhost"] }));
    assert.deepEqual(back.modulesLoaded, ["localhost: ping"]);
    assert.ok((await hostFeatures(alice)).includes(NS.ping));
    assert.equal((await ping(alice)).attrs.type, "result");
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("reload removing a host closes its sessions with host-gone; the others stay", async () => {
  const server = await startTestServer({ hosts: ["localhost", "b.example"] });
  try {
    const alice = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
    });
    const bob = await TestClient.login({
      port: server.ports.c2s,
      domain: "b.example",
      user: "bob",
      password: "builder",
    });
    const report = await server.reload(configFor(server, { hosts: ["localhost"] }));
    assert.equal(report.ok, true, report.error);
    assert.ok(report.hostsRemoved.includes("b.example"));
    assert.equal(await bob.streamError(), "host-gone");
    assert.ok(!server.hosts.has("b.example"));
    assert.ok(![...server.hosts.values()].some((h) => h.parent === "b.example"));
    assert.equal((await ping(alice)).attrs.type, "result");
    // A new stream to the removed host is refused as one to any unknown host.
    const late = await TestClient.connect({ port: server.ports.c2s, domain: "b.example" });
    late.send(
      `<?xml version='1.0'?><stream:stream xmlns='jabber:client' ` +
        `xmlns:stream='http://etherx.jabber.org/streams' to='b.example' version='1.0'>`,
    );
    assert.equal(await late.streamError(), "host-unknown");
    late.close();
    alice.close();
    bob.close();
  } finally {
    await server.stop();
  }
});

Deno.test("a certificate file replaced on disk is used for new connections without a reload", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-reload-" });
  const live = await writePair(dir, "live", ["localhost"]);
  const server = await startTestServer({ tls: live });
  try {
    const alice = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
    });
    const before = await fingerprint(live.certificate);
    assert.equal(await presented(server.ports.c2sDirectTls, "localhost"), before);
    // As a renewal does: new files written beside, then renamed over the old ones.
    const renewed = await writePair(dir, "renewed", ["localhost"]);
    const after = await fingerprint(renewed.certificate);
    await Deno.rename(renewed.key, live.key);
    await Deno.rename(renewed.certificate, live.certificate);
    let seen = before;
    for (let i = 0; i < 100 && seen !== after; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await presented(server.ports.c2sDirectTls, "localhost");
    }
    assert.equal(seen, after);
    assert.equal(await presented(server.ports.https, "localhost"), after);
    assert.equal((await ping(alice)).attrs.type, "result");
    alice.close();
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a certbot-style symlink swap in live/ is picked up without a reload", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-reload-" });
  const archive = join(dir, "archive"), liveDir = join(dir, "live");
  await Deno.mkdir(archive);
  await Deno.mkdir(liveDir);
  const first = await writePair(archive, "1", ["localhost"]);
  const live = { certificate: join(liveDir, "fullchain.pem"), key: join(liveDir, "privkey.pem") };
  /** Point a live/ link at `target` the way certbot does: a new link renamed over the old. */
  const relink = async (link: string, target: string) => {
    await Deno.symlink(target, `${link}.new`);
    await Deno.rename(`${link}.new`, link);
  };
  await relink(live.certificate, first.certificate);
  await relink(live.key, first.key);
  const server = await startTestServer({ tls: live });
  try {
    const before = await fingerprint(first.certificate);
    assert.equal(await presented(server.ports.c2sDirectTls, "localhost"), before);
    const second = await writePair(archive, "2", ["localhost"]);
    const after = await fingerprint(second.certificate);
    await relink(live.key, second.key);
    await relink(live.certificate, second.certificate);
    let seen = before;
    for (let i = 0; i < 100 && seen !== after; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await presented(server.ports.c2sDirectTls, "localhost");
    }
    assert.equal(seen, after);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
