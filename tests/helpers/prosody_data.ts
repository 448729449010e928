/**
 * A Prosody 0.12 data directory made by Debian's `prosody` and
 * `prosodyctl`, for tests/integration/import_prosody_test.ts: accounts
 * registered with prosodyctl (SCRAM-SHA-1 keys on example.test, a
 * plaintext password on plain.test, one on other.test that Parley does not
 * host), then a short-lived Prosody on 127.0.0.1 that alice logs in to and
 * fills with a roster, a vCard, private XML, a block and a PEP item, and a
 * subscription request and a message to bob, who is offline. Prosody is this process's child, stopped
 * by its PID.
 */
import { iq, TestClient } from "./client.ts";
import { waitForPort } from "./wait_port.ts";
import { generateSelfSigned } from "../../src/tls/selfsigned.ts";

export const PROSODY_BINARIES = ["/usr/bin/prosody", "/usr/bin/prosodyctl"];

export function prosodyInstalled(): boolean {
  return PROSODY_BINARIES.every((b) => {
    try {
      return Deno.statSync(b).isFile;
    } catch {
      return false;
    }
  });
}

/** The accounts made, with their passwords. */
export const ACCOUNTS = {
  alice: { host: "example.test", password: "wonderland pw" },
  bob: { host: "example.test", password: "b0b's pw" },
  carol: { host: "plain.test", password: "carol pw" },
  dave: { host: "other.test", password: "dave pw" },
} as const;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function config(dir: string, port: number): string {
  return `
run_as_root = true
pidfile = "${dir}/prosody.pid"
data_path = "${dir}/data"
log = { info = "${dir}/prosody.log" }
certificates = "${dir}"
authentication = "internal_hashed"
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
s2s_ports = { }
s2s_direct_tls_ports = { }
component_ports = { }
http_ports = { }
https_ports = { }
modules_enabled = { "roster"; "saslauth"; "tls"; "disco"; "vcard"; "private"; "offline"; "blocklist"; "pep"; "presence"; "ping" }
ssl = { certificate = "${dir}/server.crt"; key = "${dir}/server.key" }
VirtualHost "example.test"
VirtualHost "plain.test"
  authentication = "internal_plain"
VirtualHost "other.test"
`;
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Makes `dir/data`, Prosody's data directory; returns its path. */
export async function makeProsodyData(dir: string): Promise<string> {
  const port = freePort();
  const pair = await generateSelfSigned(Object.values(ACCOUNTS).map((a) => a.host));
  await Deno.writeTextFile(`${dir}/server.crt`, pair.certPem);
  await Deno.writeTextFile(`${dir}/server.key`, pair.keyPem);
  await Deno.mkdir(`${dir}/data`);
  const cfgFile = `${dir}/prosody.cfg.lua`;
  await Deno.writeTextFile(cfgFile, config(dir, port));
  const cfg = ["--config", cfgFile];
  for (const [user, { host, password }] of Object.entries(ACCOUNTS)) {
    await run("prosodyctl", [...cfg, "register", user, host, password]);
  }
  const prosody = new Deno.Command("prosody", {
    args: [...cfg, "-F"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitForPort("127.0.0.1", port, 15_000);
    const alice = await TestClient.login({
      port,
      domain: "example.test",
      user: "alice",
      password: ACCOUNTS.alice.password,
      mechanism: "SCRAM-SHA-1",
    });
    const ok = async (id: string, xml: string) => {
      const reply = await iq(alice, id, xml);
      if (reply.attrs.type !== "result") throw new Error(`Prosody refused: ${reply}`);
    };
    await ok(
      "r1",
      `<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='bob@example.test' name='Bob'><group>Friends</group><group>Wonder &amp; land</group></item></query></iq>`,
    );
    await ok(
      "v1",
      `<iq type='set' id='v1'><vCard xmlns='vcard-temp'><FN>Alice Liddell</FN><NICKNAME>ali</NICKNAME></vCard></iq>`,
    );
    await ok(
      "p1",
      `<iq type='set' id='p1'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'><conference jid='tea@conference.example.test' autojoin='true' name='Tea'/></storage></query></iq>`,
    );
    await ok(
      "b1",
      `<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='spam@evil.example'/></block></iq>`,
    );
    await ok(
      "n1",
      `<iq type='set' id='n1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:microblog:0'><item id='post1'><entry xmlns='http://www.w3.org/2005/Atom'><title>Hello from Prosody</title></entry></item></publish></pubsub></iq>`,
    );
    // A pending subscription: ask='subscribe' in alice's roster, a request kept in bob's.
    alice.send(`<presence to='bob@example.test' type='subscribe'/>`);
    alice.send(
      `<message to='bob@example.test' type='chat' id='m1'><body>Hello Bob, ünïcode kept</body></message>`,
    );
    // Stanzas of one session are handled in order: once the ping is answered,
    // the message is in bob's offline store.
    await ok(
      "ping",
      `<iq type='get' id='ping' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>`,
    );
    alice.close();
  } finally {
    prosody.kill("SIGTERM");
    await prosody.status;
  }
  return `${dir}/data`;
}
