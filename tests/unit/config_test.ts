import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { isDeepStrictEqual } from "node:util";
import { allKeyPaths, keyPathsOf, optionalKeyPaths } from "../../src/config/shape.ts";
import { configSchema } from "../../src/config/schema.ts";
import { generateSelfSigned } from "../../src/tls/selfsigned.ts";
import { MODULES } from "../../src/modules/index.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

async function writeConfig(raw: unknown): Promise<string> {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "config.json");
  await Deno.writeTextFile(file, typeof raw === "string" ? raw : JSON.stringify(raw, null, 2));
  return file;
}

async function loadError(raw: unknown): Promise<ConfigError> {
  const file = await writeConfig(raw);
  try {
    await loadConfig(file);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e;
  }
  assert.fail("the config loaded");
}

Deno.test("unknown keys are reported with the closest known key", async () => {
  const e = await loadError({ hots: ["a.example"], c2s: { allowUnencryted: true } });
  assert.equal(e.issues.length, 2);
  assert.match(e.message, /hots: unknown key; did you mean "hosts"\?/);
  assert.match(e.message, /c2s\.allowUnencryted: unknown key; did you mean "allowUnencrypted"\?/);
  assert.match(e.message, /config\.example\.json/);
  // Inside the host-object branch of the `hosts` union too.
  const inHost = await loadError({ hosts: [{ domain: "a.example", tsl: {} }] });
  assert.match(inHost.message, /hosts\[0\]\.tsl: unknown key; did you mean "tls"\?/);
  // No far-fetched suggestion.
  const far = await loadError({ zzzzzzzz: 1 });
  assert.doesNotMatch(far.message, /did you mean/);
});

Deno.test("wrong types name the expected type", async () => {
  const e = await loadError({ dataDir: 3, hosts: [5], c2s: { maxStanzaSize: "big" } });
  assert.match(e.message, /dataDir: wrong type: expected string, received number 3$/m);
  assert.match(e.message, /hosts\[0\]: wrong type: expected string or object/);
  assert.match(e.message, /c2s\.maxStanzaSize: wrong type: expected number, received string "big"/);
  const enumError = await loadError({ log: { level: "verbose" } });
  assert.match(
    enumError.message,
    /log\.level: "verbose" is not allowed: expected one of "trace", "debug"/,
  );
});

Deno.test("out-of-range values are echoed with the bound, in plain words", async () => {
  const e = await loadError({
    c2s: { maxStanzaSize: 12, authTimeoutSeconds: 0, maxConnectionsPerIp: 1.5 },
    listeners: { c2s: { port: 70000, interfaces: [] } },
    hosts: [""],
    components: { "gw.example": { secret: "" } },
  });
  const lines = e.issues.join("\n");
  for (
    const expected of [
      "c2s.maxStanzaSize: 12 is too small: at least 1024",
      "c2s.authTimeoutSeconds: 0 is too small: more than 0",
      "c2s.maxConnectionsPerIp: 1.5 is not a whole number",
      "listeners.c2s.port: 70000 is too big: at most 65535",
      "listeners.c2s.interfaces: [] has too few items: at least 1 item",
      'hosts[0]: "" is too short: at least 1 character',
      'components.gw.example.secret: "" is too short: at least 1 character',
    ]
  ) assert.ok(e.issues.includes(expected), `${expected}\nnot in:\n${lines}`);
  // None of zod's own wording.
  assert.doesNotMatch(lines, /Too small|Too big|expected number to be|Invalid input/);
});

Deno.test("schema, semantic and file problems are all reported at once", async () => {
  const e = await loadError({
    hots: [],
    hosts: ["a.example", "a.example"],
    c2s: { maxStanzaSize: 12 },
    modules: ["pingg"],
    tls: { certificate: "missing.crt", key: "missing.key" },
    s2s: { caFile: "missing-ca.pem" },
  });
  const at = e.issues.map((i) => i.slice(0, i.indexOf(": ")));
  assert.deepEqual(at.sort(), [
    "c2s.maxStanzaSize",
    "hosts[1]",
    "hots",
    "modules[0]",
    "s2s.caFile",
    "tls.certificate",
    "tls.key",
  ]);
});

Deno.test("a check under a rejected value is left out: it would be about the default", async () => {
  // listeners.c2sDirectTls.port is rejected; its default 5223 must not be
  // reported as clashing with the c2s port the file sets to 5223.
  const e = await loadError({
    listeners: { c2s: { port: 5223 }, c2sDirectTls: { port: "x" } },
  });
  assert.deepEqual(e.issues, [
    'listeners.c2sDirectTls.port: wrong type: expected number, received string "x"',
  ]);
});

Deno.test("JSON syntax errors give line and column", async () => {
  const e = await loadError('{\n  "hosts": ["a.example"],\n  dataDir: "x"\n}');
  assert.match(e.message, /line 3, column 3: invalid JSON/);
});

Deno.test("bad and duplicate hosts are rejected", async () => {
  const e = await loadError({
    hosts: ["a.example", "A.example", "user@b.example", "c..example", "-d.example"],
  });
  assert.equal(e.issues.length, 4, e.message);
  assert.match(e.message, /hosts\[1\]: "a\.example" is already hosted by hosts\[0\]/);
  assert.match(e.message, /hosts\[2\]: invalid domain "user@b\.example"/);
  assert.match(e.message, /hosts\[3\]: invalid domain "c\.\.example"/);
  assert.match(e.message, /hosts\[4\]: invalid domain "-d\.example"/);
  const ok = await loadConfig(await writeConfig({ hosts: ["localhost", "xn--bcher-kva.example"] }));
  assert.equal(ok.config.hosts.length, 2);
});

Deno.test("unknown module names are rejected with the closest module, globally and per host", async () => {
  const e = await loadError({
    modules: ["ping", "pingg"],
    hosts: [
      "a.example",
      { domain: "b.example", modules: ["vcrad"], disabledModules: ["offline", "zzzzzzzzzz"] },
    ],
  });
  assert.equal(e.issues.length, 3, e.message);
  assert.match(e.message, /modules\[1\]: unknown module "pingg"; did you mean "ping"\?/);
  assert.match(
    e.message,
    /hosts\[1\]\.modules\[0\]: unknown module "vcrad"; did you mean "vcard"\?/,
  );
  assert.match(
    e.message,
    /hosts\[1\]\.disabledModules\[1\]: unknown module "zzzzzzzzzz"; \(modules: /,
  );
  // Every shipped module name is accepted, including the core "session".
  const ok = await loadConfig(await writeConfig({ modules: [...MODULES.keys()] }));
  assert.equal(ok.config.modules.length, MODULES.size);
});

Deno.test("log.categories keys must be logger categories, with the closest one as a hint", async () => {
  const e = await loadError({
    log: { categories: { c2ss: "debug", "mod.pnig": "debug", zzzzzzzz: "info" } },
  });
  assert.equal(e.issues.length, 3, e.message);
  assert.match(e.message, /log\.categories\.c2ss: unknown logger category; did you mean "c2s"\?/);
  assert.match(e.message, /log\.categories\.mod\.pnig: .*did you mean "mod\.ping"\?/);
  assert.match(
    e.message,
    /log\.categories\.zzzzzzzz: unknown logger category; \(categories: auth, /,
  );
  const ok = await loadConfig(
    await writeConfig({ log: { categories: { c2s: "debug", mod: "info", "mod.ping": "trace" } } }),
  );
  assert.equal(ok.config.log.categories["mod.ping"], "trace");
});

Deno.test("allowPlainWithoutTls without allowUnencrypted is rejected with a hint", async () => {
  const e = await loadError({ c2s: { allowPlainWithoutTls: true } });
  assert.match(
    e.message,
    /c2s\.allowPlainWithoutTls: has no effect without c2s\.allowUnencrypted.*set c2s\.allowUnencrypted to true/,
  );
  const ok = await loadConfig(
    await writeConfig({ c2s: { allowPlainWithoutTls: true, allowUnencrypted: true } }),
  );
  assert.equal(ok.config.c2s.allowPlainWithoutTls, true);
});

Deno.test("missing certificate files are reported with their resolved path", async () => {
  const file = await writeConfig({
    hosts: [{ domain: "a.example", tls: { certificate: "certs/a.crt", key: "certs/a.key" } }],
  });
  const dir = dirname(file);
  await Deno.mkdir(join(dir, "certs"));
  await Deno.writeTextFile(join(dir, "certs", "a.crt"), "");
  const e = await loadConfig(file).then(() => assert.fail("loaded"), (e) => e as ConfigError);
  assert.deepEqual(e.issues, [`hosts[0].tls.key: file not found: ${join(dir, "certs", "a.key")}`]);
});

Deno.test("relative paths resolve against the config file's directory", async () => {
  const file = await writeConfig({ dataDir: "state", s2s: { caFile: "ca.pem" } });
  await Deno.writeTextFile(join(dirname(file), "ca.pem"), "");
  const { config, path } = await loadConfig(file);
  assert.equal(path, file);
  assert.equal(config.dataDir, join(dirname(file), "state"));
  assert.equal(config.s2s.caFile, join(dirname(file), "ca.pem"));
  await assert.rejects(loadConfig(join(dirname(file), "missing.json")), /file not found/);
});

Deno.test("without a path: ./config.json when present, else the embedded default", async () => {
  // In a child process: chdir would move the cwd under every test running in parallel.
  const dir = await Deno.realPath(await Deno.makeTempDir());
  const script = join(dir, "probe.ts");
  await Deno.writeTextFile(
    script,
    `import { loadConfig } from ${JSON.stringify(join(ROOT, "src", "config", "load.ts"))};
    const { config, path } = await loadConfig();
    console.log(JSON.stringify({ path, hosts: config.hosts, dataDir: config.dataDir, driver: config.storage.driver }));`,
  );
  const probe = async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", join(ROOT, "deno.json"), script],
      cwd: dir,
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return JSON.parse(new TextDecoder().decode(out.stdout));
  };
  assert.deepEqual(await probe(), {
    hosts: ["localhost"],
    dataDir: join(dir, "data"),
    driver: "sqlite",
  });
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify({ hosts: ["here.example"] }));
  assert.deepEqual(await probe(), {
    path: join(dir, "config.json"),
    hosts: ["here.example"],
    dataDir: join(dir, "data"),
    driver: "sqlite",
  });
});

/**
 * Where config.example.json differs from the defaults, on purpose: copied
 * as it is, it behaves like no config at all except for these.
 */
const EXAMPLE_EXCEPTIONS: Record<string, string> = {
  hosts: "a second host, to show the per-host settings",
  tls: "certificate files, to show where they go",
};

/** `path: example …, default …` for every leaf where the two differ. */
function differences(example: unknown, defaults: unknown, path = ""): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObject(example) && isObject(defaults)) {
    const keys = new Set([...Object.keys(example), ...Object.keys(defaults)]);
    return [...keys].flatMap((k) =>
      differences(example[k], defaults[k], path ? `${path}.${k}` : k)
    );
  }
  if (isDeepStrictEqual(example, defaults)) return [];
  const show = (v: unknown) => v === undefined ? "(absent)" : JSON.stringify(v);
  return [`${path}: example ${show(example)}, default ${show(defaults)}`];
}

Deno.test("config.example.json holds every key at its default, except the documented exceptions", async () => {
  const example = JSON.parse(await Deno.readTextFile(join(ROOT, "config.example.json")));
  const defaults = configSchema.parse({});
  const unexpected = differences(example, defaults).filter((line) =>
    !Object.keys(EXAMPLE_EXCEPTIONS).some((k) =>
      line.startsWith(`${k}:`) || line.startsWith(`${k}.`)
    )
  );
  assert.deepEqual(unexpected, [], "set these keys to their defaults in config.example.json");
  // And it shows every key, but those that are absent by default (documented in docs/).
  const present = new Set(keyPathsOf(example));
  const optional = optionalKeyPaths();
  const missing = allKeyPaths().filter((k) =>
    !present.has(k) && !optional.some((o) => k === o || k.startsWith(`${o}.`))
  );
  assert.deepEqual(missing, [], "keys missing from config.example.json");
});

Deno.test("config.example.json loads once its certificate files exist", async () => {
  const text = await Deno.readTextFile(join(ROOT, "config.example.json"));
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "config.json"), text);
  const example = JSON.parse(text);
  for (const tls of [example.tls, ...example.hosts.map((h: { tls?: unknown }) => h.tls)]) {
    if (!tls) continue;
    const pair = await generateSelfSigned(["example.net"]);
    await Deno.mkdir(dirname(join(dir, tls.certificate)), { recursive: true });
    await Deno.writeTextFile(join(dir, tls.certificate), pair.certPem);
    await Deno.writeTextFile(join(dir, tls.key), pair.keyPem);
  }
  const { config } = await loadConfig(join(dir, "config.json"));
  assert.equal(config.dataDir, join(dir, "data"));
});

Deno.test("docs/configuration.md describes every key of the schema", async () => {
  const docs = await Deno.readTextFile(join(ROOT, "docs", "configuration.md"));
  const keys = allKeyPaths();
  assert.ok(keys.length > 40, `the walk found only ${keys.length} keys`);
  const missing = keys.filter((k) => !docs.includes(`\`${k}\``));
  assert.deepEqual(missing, [], "keys missing from docs/configuration.md");
});

Deno.test("a partial listener keeps that listener's own defaults (component stays on loopback)", async () => {
  const { config } = await loadConfig(
    await writeConfig({ listeners: { component: { port: 5348 }, s2s: { enabled: false } } }),
  );
  assert.deepEqual(config.listeners.component, {
    interfaces: ["127.0.0.1", "::1"],
    port: 5348,
    enabled: true,
  });
  assert.deepEqual(config.listeners.s2s, {
    interfaces: ["0.0.0.0", "::"],
    port: 5269,
    enabled: false,
  });
  assert.equal(config.listeners.c2s.port, 5222);
});
