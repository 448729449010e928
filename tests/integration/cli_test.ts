/** The `parley` command line, run as a real subprocess: `deno run -A main.ts …`. */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSelfSigned } from "../../src/tls/selfsigned.ts";
import { TestClient } from "../helpers/client.ts";
import { createTestCa } from "../helpers/test_ca.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function parley(args: string[], stdin?: string): Promise<Result> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "main.ts"), ...args],
    cwd: ROOT,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** A config in a fresh directory: SQLite in its own dataDir, no ports opened. */
async function tempConfig(extra: Record<string, unknown> = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "parley-cli-" });
  const file = join(dir, "config.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      hosts: ["example.org"],
      dataDir: "data",
      storage: { driver: "sqlite" },
      ...extra,
    }),
  );
  return file;
}

Deno.test("--help prints the commands and exit codes, exit 0", async () => {
  const r = await parley(["--help"]);
  assert.equal(r.code, 0, r.stderr);
  for (const word of ["serve", "adduser", "passwd", "deluser", "check", "version", "Exit codes"]) {
    assert.ok(r.stdout.includes(word), `--help mentions ${word}`);
  }
  const sub = await parley(["adduser", "-h"]);
  assert.equal(sub.code, 0);
  assert.match(sub.stdout, /Usage: parley adduser JID/);
});

Deno.test("unknown command or option exits 2 with a message on stderr", async () => {
  const r = await parley(["frobnicate"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  assert.equal(r.stdout, "");
  const opt = await parley(["version", "--bogus"]);
  assert.equal(opt.code, 2);
  assert.equal(
    opt.stderr,
    'parley version: unknown option "--bogus"\nRun "parley version --help" for usage.\n',
  );
});

Deno.test("option errors are worded by the CLI, not by node's parseArgs", async () => {
  const cases: [string[], string][] = [
    [["check", "-c"], "parley check: option -c, --config needs a value"],
    [["check", "--help=yes"], 'parley check: option -h, --help takes no value (got "yes")'],
    [
      ["check", "-c", "--no-dns"],
      'parley check: option -c, --config needs a value, not "--no-dns" (for a value that starts ' +
      'with "-", write --config=--no-dns)',
    ],
    [["adduser", "-hx"], 'parley adduser: unknown option "-x"'],
  ];
  for (const [args, message] of cases) {
    const r = await parley(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr.split("\n")[0], message);
    assert.doesNotMatch(r.stderr, /To specify a positional|argument missing|ambiguous/);
  }
});

Deno.test("version prints the version", async () => {
  const r = await parley(["version"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^parley 0\.1\.0 \(deno /);
});

Deno.test("adduser, passwd and deluser with the password on stdin", async () => {
  const config = await tempConfig();
  const jid = "alice@example.org";
  const add = await parley(["adduser", jid, "-c", config], "s3cret\n");
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /Created alice@example\.org/);

  const again = await parley(["adduser", jid, "-c", config], "other\n");
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);

  const passwd = await parley(["passwd", jid, "--config", config], "n3w\n");
  assert.equal(passwd.code, 0, passwd.stderr);
  const passwdMissing = await parley(["passwd", "bob@example.org", "-c", config], "x\n");
  assert.equal(passwdMissing.code, 1);

  const del = await parley(["deluser", jid, "-c", config]);
  assert.equal(del.code, 0, del.stderr);
  const delAgain = await parley(["deluser", jid, "-c", config]);
  assert.equal(delAgain.code, 1);
  assert.match(delAgain.stderr, /does not exist/);

  // The account is really gone, but its name is reserved (a tombstone)…
  const readd = await parley(["adduser", jid, "-c", config], "s3cret\n");
  assert.equal(readd.code, 1);
  assert.match(readd.stderr, /deleted account; the name is reserved until .*--force/);
  // …until an operator who means it forces it.
  const forced = await parley(["adduser", jid, "--force", "-c", config], "s3cret\n");
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /Created alice@example\.org/);
});

Deno.test("deluser leaves no tombstone when accounts.tombstoneDays is 0", async () => {
  const config = await tempConfig({ accounts: { tombstoneDays: 0 } });
  const jid = "bob@example.org";
  assert.equal((await parley(["adduser", jid, "-c", config], "pw\n")).code, 0);
  assert.equal((await parley(["deluser", jid, "-c", config])).code, 0);
  const readd = await parley(["adduser", jid, "-c", config], "pw\n");
  assert.equal(readd.code, 0, readd.stderr);
});

Deno.test("account commands reject unhosted domains and bad input", async () => {
  const config = await tempConfig();
  const unhosted = await parley(["adduser", "alice@elsewhere.org", "-c", config], "pw\n");
  assert.equal(unhosted.code, 2);
  assert.match(unhosted.stderr, /elsewhere\.org is not hosted/);
  const noUser = await parley(["adduser", "example.org", "-c", config], "pw\n");
  assert.equal(noUser.code, 2);
  // An invalid JID: why, not only that.
  const badJid = await parley(["adduser", "al ice@example.org", "-c", config], "pw\n");
  assert.equal(badJid.code, 2);
  assert.match(
    badJid.stderr,
    /^parley adduser: "al ice@example\.org" is not a valid JID: forbidden character space \(U\+0020\) in localpart$/m,
  );
  const emptyLocal = await parley(["deluser", "@example.org", "-c", config]);
  assert.match(emptyLocal.stderr, /is not a valid JID: empty localpart$/m);
  const missingJid = await parley(["deluser", "-c", config]);
  assert.equal(missingJid.code, 2);
  assert.match(missingJid.stderr, /missing JID/);
  const empty = await parley(["adduser", "carol@example.org", "-c", config], "\n");
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /empty/);
  const badConfig = await parley(["adduser", "alice@example.org", "-c", config + ".nope"], "x\n");
  assert.equal(badConfig.code, 2);
  assert.match(badConfig.stderr, /file not found/);
});

// `--no-dns` throughout: a test's DNS queries must not leave the machine
// (tests/unit/check_dns_test.ts covers the DNS report with a fake resolver).
Deno.test("check passes on a config with a valid certificate", async () => {
  const config = await tempConfig({ tls: { certificate: "server.crt", key: "server.key" } });
  const pair = await generateSelfSigned(["example.org"]);
  await Deno.writeTextFile(join(dirname(config), "server.crt"), pair.certPem);
  await Deno.writeTextFile(join(dirname(config), "server.key"), pair.keyPem);
  const r = await parley(["check", "--no-dns", "-c", config]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^OK {4}config: /m);
  assert.match(r.stdout, /^OK {4}example\.org: the private key matches the certificate$/m);
  assert.match(r.stdout, /^WARN {2}example\.org: self-signed/m);
  assert.match(r.stdout, /_xmpp-client\._tcp\.example\.org\. 3600 IN SRV 0 5 5222 example\.org\./);
  assert.match(r.stdout, /_xmpps-client\._tcp\.example\.org\. 3600 IN SRV 0 5 5223/);
  // Federation: the server SRV record to publish, and what a self-signed
  // certificate means for peers (a warning: dialback is allowed).
  assert.match(r.stdout, /_xmpp-server\._tcp\.example\.org\. 3600 IN SRV 0 5 5269 example\.org\./);
  assert.match(
    r.stdout,
    /^WARN {2}example\.org: certificate not trusted by other servers: self-signed certificate; federation will fall back to dialback \(or fail with requireValidCertificates/m,
  );
  assert.match(r.stdout, /^DNS not queried \(--no-dns\)\.$/m);
  assert.doesNotMatch(r.stdout, /^FAIL/m);
});

Deno.test("check verifies each host's chain as peers do: system CAs and s2s.caFile", async () => {
  const config = await tempConfig();
  const dir = dirname(config);
  const ca = await createTestCa("Check Test CA");
  const intermediate = await ca.intermediate("Check Test Intermediate");
  const direct = await ca.issue(["a.example"]);
  const viaIntermediate = await intermediate.issue(["b.example"]);
  const write = (name: string, text: string) => Deno.writeTextFile(join(dir, name), text);
  await write("ca.pem", ca.certPem);
  await write("a.crt", direct.certPem);
  await write("a.key", direct.keyPem);
  // b.example serves its leaf alone, without the intermediate that links it to the CA.
  await write("b.crt", viaIntermediate.certPem);
  await write("b.key", viaIntermediate.keyPem);
  await write("b-full.crt", viaIntermediate.certPem + intermediate.certPem);
  const hosts = (bCert: string) => [
    { domain: "a.example", tls: { certificate: "a.crt", key: "a.key" } },
    { domain: "b.example", tls: { certificate: bCert, key: "b.key" } },
  ];
  const check = async (extra: Record<string, unknown>) => {
    const file = join(dir, "check.json");
    const raw = JSON.parse(await Deno.readTextFile(config));
    await Deno.writeTextFile(file, JSON.stringify({ ...raw, ...extra }));
    return await parley(["check", "--no-dns", "-c", file]);
  };
  const caFile = join(dir, "ca.pem");
  const notTrusted = (domain: string) =>
    new RegExp(
      `^WARN {2}${domain.replace(".", "\\.")}: certificate not trusted by other servers: ` +
        "unknown issuer; federation will fall back to dialback \\(or fail with " +
        "requireValidCertificates",
      "m",
    );

  // Without s2s.caFile, nothing anchors the test CA: both are refused, each
  // with its remedy; still warnings, since dialback can stand in.
  const without = await check({ hosts: hosts("b.crt") });
  assert.equal(without.code, 0, without.stdout + without.stderr);
  assert.match(without.stdout, notTrusted("a.example"));
  assert.match(without.stdout, notTrusted("b.example"));
  assert.match(
    without.stdout,
    /^WARN {2}b\.example: .*b\.crt holds the certificate alone, issued by CN=Check Test Intermediate: append the missing intermediate/m,
  );
  assert.doesNotMatch(without.stdout, /^WARN {2}a\.example: self-signed/m);

  // With the CA in s2s.caFile: a.example verifies; b.example still not,
  // its chain stops at the intermediate nobody has…
  const withCa = await check({ hosts: hosts("b.crt"), s2s: { caFile } });
  assert.equal(withCa.code, 0, withCa.stdout + withCa.stderr);
  assert.match(
    withCa.stdout,
    /^OK {4}s2s: s2s\.caFile .*ca\.pem: 1 extra CA certificate\(s\) trusted$/m,
  );
  assert.match(
    withCa.stdout,
    /^OK {4}a\.example: certificate chains to a CA in s2s\.caFile: servers that trust the same CA accept it/m,
  );
  assert.match(withCa.stdout, notTrusted("b.example"));
  // …until the file carries the full chain.
  const full = await check({ hosts: hosts("b-full.crt"), s2s: { caFile } });
  assert.match(full.stdout, /^OK {4}b\.example: certificate chains to a CA in s2s\.caFile/m);
  assert.doesNotMatch(full.stdout, /not trusted/);

  // Dialback off: an untrusted certificate leaves no way to authenticate.
  const strict = await check({ hosts: hosts("b.crt"), s2s: { caFile, allowDialback: false } });
  assert.equal(strict.code, 1, strict.stdout);
  assert.match(
    strict.stdout,
    /^FAIL {2}b\.example: certificate not trusted by other servers: unknown issuer; federation will fail: s2s\.allowDialback is off/m,
  );
  // An unreadable s2s.caFile stops the server: a config problem, with the
  // other checks still run.
  const missing = await check({ hosts: hosts("b-full.crt"), s2s: { caFile: caFile + ".nope" } });
  assert.equal(missing.code, 2, missing.stdout);
  assert.match(missing.stdout, /^FAIL {2}config: s2s\.caFile: file not found: .*ca\.pem\.nope$/m);
  assert.match(missing.stdout, /^OK {4}b\.example: the private key matches the certificate$/m);
});

Deno.test("check reports config, file and certificate problems in one run", async () => {
  const config = await tempConfig({
    hosts: ["example.org", { domain: "b.example", tls: { certificate: "b.crt", key: "b.key" } }],
    tls: { certificate: "server.crt", key: "server.key" },
    c2s: { maxStanzaSize: 12, allowUnencryted: true },
  });
  const pair = await generateSelfSigned(["example.org"]);
  const other = await generateSelfSigned(["example.org"]);
  await Deno.writeTextFile(join(dirname(config), "server.crt"), pair.certPem);
  await Deno.writeTextFile(join(dirname(config), "server.key"), other.keyPem);
  const r = await parley(["check", "--no-dns", "-c", config]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stdout, /^4 problems in .*config\.json:$/m);
  assert.match(r.stdout, /^FAIL {2}config: c2s\.maxStanzaSize: 12 is too small: at least 1024$/m);
  assert.match(r.stdout, /^FAIL {2}config: c2s\.allowUnencryted: unknown key; did you mean/m);
  assert.match(r.stdout, /^FAIL {2}config: hosts\[1\]\.tls\.certificate: file not found: /m);
  assert.match(r.stdout, /^FAIL {2}config: hosts\[1\]\.tls\.key: file not found: /m);
  // The certificate checks ran despite the config's problems.
  assert.match(r.stdout, /^FAIL {2}example\.org: .*server\.key is not the certificate's key/m);
});

Deno.test("check fails on a key that does not match, and on a bad config", async () => {
  const config = await tempConfig({ tls: { certificate: "server.crt", key: "server.key" } });
  const pair = await generateSelfSigned(["example.org"]);
  const other = await generateSelfSigned(["example.org"]);
  await Deno.writeTextFile(join(dirname(config), "server.crt"), pair.certPem);
  await Deno.writeTextFile(join(dirname(config), "server.key"), other.keyPem);
  const r = await parley(["check", "--no-dns", "-c", config]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^FAIL {2}example\.org: .*server\.key is not the certificate's key/m);

  const bad = await tempConfig({ hots: [] });
  const rb = await parley(["check", "-c", bad]);
  assert.equal(rb.code, 2);
  assert.match(rb.stdout, /^FAIL {2}config: .*did you mean "hosts"/m);
});

Deno.test("an unknown module name fails check and serve with exit 2 and a hint, no stack trace", async () => {
  const config = await tempConfig({ modules: ["ping", "pingg"] });
  const check = await parley(["check", "-c", config]);
  assert.equal(check.code, 2, check.stdout + check.stderr);
  assert.match(
    check.stdout,
    /^FAIL {2}config: .*modules\[1\]: unknown module "pingg"; did you mean "ping"\?/m,
  );
  const serve = await parley(["serve", "-c", config]);
  assert.equal(serve.code, 2, serve.stderr);
  assert.match(serve.stderr, /modules\[1\]: unknown module "pingg"/);
  assert.doesNotMatch(serve.stderr, /\n\s+at /, "no stack trace");
});

/** `parley serve` as a subprocess, its stderr (the log) collected as it comes. */
function serve(config: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "main.ts"), "serve", "-c", config],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  // One read at a time, kept across waits: a read that lost a race against a
  // timeout still delivers its chunk later instead of dropping it.
  let reading: Promise<ReadableStreamReadResult<string>> | undefined;
  let ended = false;
  /** The next chunk into `log`; false if `ms` pass first (the read stays pending). */
  async function readFor(ms: number): Promise<boolean> {
    reading ??= lines.read();
    const result = await within(reading, ms);
    if (result === undefined) return false;
    reading = undefined;
    if (result.done) ended = true;
    else log += result.value;
    return true;
  }
  /** Everything up to the end of stderr. */
  async function readRest(): Promise<void> {
    while (!ended) await readFor(60_000);
  }
  return {
    child,
    get log() {
      return log;
    },
    /** Read the log until it matches `pattern` (or 15 s pass); the match, if any. */
    async waitFor(pattern: RegExp): Promise<RegExpMatchArray | null> {
      const deadline = Date.now() + 15_000;
      while (!pattern.test(log) && !ended && await readFor(deadline - Date.now()));
      return log.match(pattern);
    },
    /**
     * Send `signal`, then the exit code once the process ended and its log is
     * read; one still running 15 s later is killed and the test fails.
     */
    stop(signal: Deno.Signal): Promise<number> {
      child.kill(signal);
      return exited(`of ${signal}`);
    },
    /** The exit code of a server that stops by itself (e.g. cannot start). */
    exited: () => exited("of starting"),
  };
  /**
   * The exit code once the process ended and its log is read; one still
   * running 15 s later is killed (by its PID) and the test fails.
   */
  async function exited(after: string): Promise<number> {
    // Read while waiting: a child blocked on a full stderr pipe would never exit.
    const rest = readRest();
    const status = await within(child.status, 15_000);
    if (status === undefined) child.kill("SIGKILL");
    // Once the process is gone its stderr ends: this wait is bounded too.
    const read = await within(rest.then(() => true), 15_000);
    await child.stdout.cancel();
    if (status === undefined) {
      await child.status;
      throw new Error(`parley serve did not exit within 15 s ${after}; log:\n${log}`);
    }
    assert.ok(read, `stderr did not end after exit; log:\n${log}`);
    return status.code;
  }
}

/** `promise`'s value, or undefined if `ms` pass first (the promise is left running). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(ms, 0));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const LOCAL_LISTENERS = {
  listeners: {
    c2s: { port: 0, interfaces: ["127.0.0.1"] },
    c2sDirectTls: { port: 0, interfaces: ["127.0.0.1"] },
    s2s: { port: 0, interfaces: ["127.0.0.1"] },
    http: { port: 0, interfaces: ["127.0.0.1"] },
    https: { port: 0, interfaces: ["127.0.0.1"] },
  },
};

Deno.test("serve runs until SIGTERM, then exits 0", async () => {
  const config = await tempConfig(LOCAL_LISTENERS);
  const server = serve(config);
  // Signal handlers are installed before "starting" is logged; then give the
  // server a moment to log that it listens, so the shutdown path is exercised.
  await server.waitFor(/starting[\s\S]*listening/i);
  assert.match(server.log, /starting/, server.log);
  const code = await server.stop("SIGTERM");
  assert.equal(code, 0, server.log);
  assert.match(server.log, /SIGTERM/);
});

Deno.test("SIGINT (Ctrl-C) closes client streams with system-shutdown, then exits 0", async () => {
  const config = await tempConfig(LOCAL_LISTENERS);
  const add = await parley(["adduser", "alice@example.org", "-c", config], "s3cret\n");
  assert.equal(add.code, 0, add.stderr);
  const server = serve(config);
  // The text log quotes string values: `"c2s" listening on ["127.0.0.1"]:5222`.
  const listening = await server.waitFor(/\bc2s"? listening on \[[^\]]*\]:(\d+)/);
  assert.ok(listening, server.log);
  const client = await TestClient.login({
    port: Number(listening[1]),
    domain: "example.org",
    user: "alice",
    password: "s3cret",
  });
  const code = await server.stop("SIGINT");
  assert.equal(await client.streamError(), "system-shutdown");
  await client.waitClosed();
  assert.equal(code, 0, server.log);
  assert.match(server.log, /SIGINT/);
});

Deno.test("a port in use: the listener, the port and the remedy, without a stack trace", async () => {
  const first = serve(await tempConfig(LOCAL_LISTENERS));
  try {
    const listening = await first.waitFor(/\bc2s"? listening on \[[^\]]*\]:(\d+)/);
    assert.ok(listening, first.log);
    const port = Number(listening[1]);
    const second = serve(
      await tempConfig({
        listeners: { ...LOCAL_LISTENERS.listeners, c2s: { port, interfaces: ["127.0.0.1"] } },
      }),
    );
    const code = await second.exited();
    assert.equal(code, 1, second.log);
    assert.match(
      second.log,
      new RegExp(
        `^parley serve: could not start: listener "c2s" cannot listen on 127\\.0\\.0\\.1:${port}: ` +
          `port ${port} is in use: another process holds it \\(another Parley or XMPP server\\?\\): ` +
          "stop it, or change listeners\\.c2s\\.port$",
        "m",
      ),
    );
    assert.doesNotMatch(second.log, /\n\s+at /, "no stack trace");
  } finally {
    assert.equal(await first.stop("SIGTERM"), 0, first.log);
  }
});
