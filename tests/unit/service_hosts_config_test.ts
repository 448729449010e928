import assert from "node:assert/strict";
import { join } from "node:path";
import { configSchema, serviceHostConfigs } from "../../src/config/schema.ts";
import { semanticIssues } from "../../src/config/semantics.ts";
import { resolvePaths } from "../../src/config/load.ts";
import { loadOrCreateCertificates } from "../../src/tls/certs.ts";
import { namesCover } from "../../src/tls/names.ts";

Deno.test("service hosts: one per hosted domain and enabled service, from the domain template", () => {
  const config = configSchema.parse({
    hosts: ["a.example", { domain: "B.example" }],
    upload: { enabled: false },
  });
  const hosts = serviceHostConfigs(config).map((h) => [h.domain, h.service, h.parent, h.kind]);
  assert.deepEqual(hosts, [
    ["conference.a.example", "muc", "a.example", "service"],
    ["conference.b.example", "muc", "b.example", "service"],
    ["pubsub.a.example", "pubsub", "a.example", "service"],
    ["pubsub.b.example", "pubsub", "b.example", "service"],
  ]);
  const off = configSchema.parse({
    hosts: ["a.example"],
    pubsub: { enabled: false },
    upload: { enabled: false },
  });
  assert.deepEqual(serviceHostConfigs(off).map((h) => h.domain), ["conference.a.example"]);
});

Deno.test("service hosts: a template giving one domain for several hosts, or a bad one, is reported", () => {
  const shared = configSchema.parse({
    hosts: ["a.example", "b.example"],
    muc: { domain: "muc.example" },
  });
  const issues = semanticIssues(shared);
  assert.equal(issues.length, 1, issues.join("\n"));
  assert.match(
    issues[0],
    /^muc\.domain: "muc\.example" \(for b\.example\) is already used by muc\.domain/,
  );
  const bad = semanticIssues(configSchema.parse({ pubsub: { domain: "pub sub.{domain}" } }));
  assert.match(
    bad.join("\n"),
    /^pubsub\.domain: "pub sub\.localhost" \(for localhost\) is not a valid domain/,
  );
  const clash = semanticIssues(
    configSchema.parse({ hosts: ["localhost", "conference.localhost"] }),
  );
  assert.match(
    clash.join("\n"),
    /muc\.domain: "conference\.localhost" \(for localhost\) is already used by hosts/,
  );
  assert.deepEqual(semanticIssues(configSchema.parse({ hosts: ["a.example", "b.example"] })), []);
});

Deno.test("service hosts: the generated certificate covers service domains, by wildcard or by name", async () => {
  const dir = await Deno.makeTempDir();
  const config = resolvePaths(
    configSchema.parse({
      dataDir: "data",
      hosts: ["a.example"],
      pubsub: { domain: "ps.x.{domain}" },
    }),
    dir,
  );
  const store = await loadOrCreateCertificates(config);
  assert.equal(store.all.length, 1);
  for (const d of ["a.example", "conference.a.example", "ps.x.a.example"]) {
    assert.equal(store.forHost(d), store.default, d);
    assert.ok(namesCover(store.default.domains, d), d);
  }
  // conference.a.example needs no name of its own: *.a.example covers it.
  assert.deepEqual(store.default.domains.sort(), [
    "*.a.example",
    "*.ps.x.a.example",
    "a.example",
    "ps.x.a.example",
  ]);
  await Deno.remove(join(dir), { recursive: true });
});
