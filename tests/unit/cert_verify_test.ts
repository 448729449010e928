/**
 * Peer certificate checks for federation: XMPP server identities (RFC 6120
 * §13.7.1.2.1, RFC 6125, XEP-0178) and dates checked on the path actually
 * used to reach a trust anchor, not on everything the peer sent.
 */
import assert from "node:assert/strict";
import { TrustAnchors } from "../../src/s2s/cert_verify.ts";
import { pemChain } from "../../src/tls/inspect.ts";
import { generateSelfSigned } from "../../src/tls/selfsigned.ts";
import { dnsIdCovers } from "../../src/tls/xmpp_identity.ts";
import { createTestCa, type IssueOptions, type TestCa } from "../helpers/test_ca.ts";

const DAY_MS = 86_400_000;
const past = {
  notBefore: new Date(Date.now() - 400 * DAY_MS),
  notAfter: new Date(Date.now() - DAY_MS),
};

let shared: { ca: TestCa; anchors: TrustAnchors } | undefined;
async function testCa() {
  if (!shared) {
    const ca = await createTestCa("Cert Verify Test CA");
    shared = { ca, anchors: new TrustAnchors(ca.certPem) };
  }
  return shared;
}

/** The verdict for a leaf issued directly by the test CA. */
async function verdictFor(domain: string, names: string[], options?: IssueOptions) {
  const { ca, anchors } = await testCa();
  const leaf = await ca.issue(names, options);
  return anchors.verify(pemChain(leaf.certPem), domain);
}

const accepts = async (domain: string, names: string[], options?: IssueOptions) =>
  assert.deepEqual(await verdictFor(domain, names, options), { ok: true });

async function refusesName(domain: string, names: string[], options?: IssueOptions) {
  const verdict = await verdictFor(domain, names, options);
  assert.equal(verdict.ok, false);
  assert.equal(verdict.reason, `certificate is not valid for ${domain}`);
}

Deno.test("cert verify: a DNS-ID matches exactly, case-insensitively; another name is refused", async () => {
  await accepts("example.net", ["example.net"]);
  await accepts("Example.NET", ["example.net"]);
  await accepts("example.net", ["other.test", "EXAMPLE.net"]);
  await refusesName("example.org", ["example.net"]);
  await refusesName("sub.example.net", ["example.net"]);
});

Deno.test("cert verify: a wildcard DNS-ID covers exactly one left-most label", async () => {
  await accepts("chat.example.net", ["*.example.net"]);
  // Not the bare parent, not two labels, not a label further right.
  await refusesName("example.net", ["*.example.net"]);
  await refusesName("a.chat.example.net", ["*.example.net"]);
  await refusesName("chat.example.net", ["chat.*.net"]);
  // Partial-label wildcards and a wildcard over a single label are refused.
  await refusesName("chat.example.net", ["c*.example.net"]);
  assert.equal(dnsIdCovers("*.net", "example.net"), false);
  assert.equal(dnsIdCovers("*.example.net.", "chat.example.net"), true);
  assert.equal(dnsIdCovers("*", "net"), false);
});

Deno.test("cert verify: an SRV-ID (_xmpp-server or _xmpps-server) identifies the domain", async () => {
  await accepts("example.net", [], { san: [{ type: "srv", value: "_xmpp-server.example.net" }] });
  await accepts("example.net", [], { san: [{ type: "srv", value: "_xmpps-server.example.net" }] });
  await accepts("example.net", [], { san: [{ type: "srv", value: "_XMPP-Server.Example.net" }] });
  // A client service, another domain, or a wildcard is no server identity for it.
  await refusesName("example.net", [], {
    san: [{ type: "srv", value: "_xmpp-client.example.net" }],
  });
  await refusesName("example.org", [], {
    san: [{ type: "srv", value: "_xmpp-server.example.net" }],
  });
  await refusesName("chat.example.net", [], {
    san: [{ type: "srv", value: "_xmpp-server.*.example.net" }],
  });
});

Deno.test("cert verify: an XmppAddr identifies the domain (UTF-8, compared in IDNA form)", async () => {
  await accepts("example.net", [], { san: [{ type: "xmppAddr", value: "example.net" }] });
  await accepts("example.net", [], {
    san: [{ type: "dns", value: "other.test" }, { type: "xmppAddr", value: "example.net" }],
  });
  await accepts("xn--bcher-kva.example", [], {
    san: [{ type: "xmppAddr", value: "bücher.example" }],
  });
  await accepts("bücher.example", [], { san: [{ type: "dns", value: "xn--bcher-kva.example" }] });
  await refusesName("example.org", [], { san: [{ type: "xmppAddr", value: "example.net" }] });
  // No wildcards in XmppAddr, and a user's JID is not the server's.
  await refusesName("chat.example.net", [], {
    san: [{ type: "xmppAddr", value: "*.example.net" }],
  });
  await refusesName("example.net", [], { san: [{ type: "xmppAddr", value: "admin@example.net" }] });
});

Deno.test("cert verify: the subject CN counts only when the SAN holds no identifier", async () => {
  await accepts("example.net", [], { san: [], cn: "example.net" });
  await accepts("chat.example.net", [], { san: [], cn: "*.example.net" });
  for (
    const san of [
      [{ type: "dns" as const, value: "other.test" }],
      [{ type: "xmppAddr" as const, value: "other.test" }],
      [{ type: "srv" as const, value: "_xmpp-server.other.test" }],
      [{ type: "uri" as const, value: "xmpp:other.test" }],
    ]
  ) {
    await refusesName("example.net", [], { san, cn: "example.net" });
  }
});

Deno.test("cert verify: dates are checked on the path used, not on extra certificates", async () => {
  const { ca, anchors } = await testCa();
  const inter = await ca.intermediate("Cert Verify Intermediate");
  const leaf = await inter.issue(["a.test"]);
  const path = [...pemChain(leaf.certPem), ...pemChain(inter.certPem)];
  assert.deepEqual(anchors.verify(path, "a.test"), { ok: true });

  // An expired, unrelated CA certificate sent along, even before the intermediate.
  const stale = await createTestCa("Retired CA", past);
  const unrelated = pemChain(stale.certPem);
  assert.deepEqual(anchors.verify([...path, ...unrelated], "a.test"), { ok: true });
  const [leafDer, interDer] = path;
  assert.deepEqual(anchors.verify([leafDer, ...unrelated, interDer], "a.test"), { ok: true });

  // Our root cross-signed by the retired CA, expired (Let's Encrypt's DST Root CA X3 case).
  const cross = pemChain(await stale.crossSign(ca, past));
  assert.deepEqual(anchors.verify([...path, ...cross], "a.test"), { ok: true });

  // An expired earlier issue of the intermediate (same name and key) listed first:
  // that path is stale, the current intermediate still completes one.
  const oldInter = pemChain(await ca.crossSign(inter, past));
  assert.deepEqual(anchors.verify([leafDer, ...oldInter, interDer], "a.test"), { ok: true });
  // With only the stale one, the path is refused for its dates.
  const onlyOld = anchors.verify([leafDer, ...oldInter], "a.test");
  assert.equal(onlyOld.ok, false);
  assert.match(onlyOld.reason ?? "", /Cert Verify Intermediate is outside its validity/);
});

Deno.test("cert verify: an expired leaf or intermediate on the path is refused", async () => {
  const { ca, anchors } = await testCa();
  const expiredLeaf = await ca.issue(["a.test"], past);
  const leafVerdict = anchors.verify(pemChain(expiredLeaf.certPem), "a.test");
  assert.equal(leafVerdict.ok, false);
  assert.match(leafVerdict.reason ?? "", /CN=a\.test is outside its validity/);

  const future = await ca.issue(["a.test"], {
    notBefore: new Date(Date.now() + DAY_MS),
    notAfter: new Date(Date.now() + 2 * DAY_MS),
  });
  assert.equal(anchors.verify(pemChain(future.certPem), "a.test").ok, false);

  const oldInter = await ca.intermediate("Expired Intermediate", past);
  const leaf = await oldInter.issue(["a.test"]);
  const verdict = anchors.verify(
    [...pemChain(leaf.certPem), ...pemChain(oldInter.certPem)],
    "a.test",
  );
  assert.equal(verdict.ok, false);
  assert.match(verdict.reason ?? "", /Expired Intermediate is outside its validity/);
});

Deno.test("cert verify: chains that reach no anchor say why", async () => {
  const { ca } = await testCa();
  const inter = await ca.intermediate("Unanchored Intermediate");
  const leaf = await inter.issue(["a.test"]);
  const system = new TrustAnchors();
  assert.deepEqual(system.verify(pemChain(leaf.certPem), "a.test"), {
    ok: false,
    reason: "unknown issuer",
  });
  const full = [...pemChain(leaf.certPem), ...pemChain(inter.certPem), ...pemChain(ca.certPem)];
  assert.deepEqual(system.verify(full, "a.test"), { ok: false, reason: "self-signed certificate" });
  // A self-signed certificate is trusted when it is itself an anchor (s2s.caFile).
  const own = await generateSelfSigned(["a.test"]);
  assert.deepEqual(system.verify(pemChain(own.certPem), "a.test"), {
    ok: false,
    reason: "self-signed certificate",
  });
  assert.deepEqual(new TrustAnchors(own.certPem).verify(pemChain(own.certPem), "a.test"), {
    ok: true,
  });
  assert.deepEqual(system.verify([], "a.test"), { ok: false, reason: "no certificate" });
});

Deno.test("cert verify: certificates that all sign one another do not make the search explode", async () => {
  const rogue = await createTestCa("Rogue CA");
  const leaf = await rogue.issue(["a.test"]);
  // Ten certificates for the same name and key, each one an issuer of every other.
  const copies = await Promise.all(Array.from({ length: 10 }, () => rogue.crossSign(rogue)));
  const chain = [leaf.certPem, rogue.certPem, ...copies].flatMap(pemChain);
  const { anchors } = await testCa();
  assert.deepEqual(anchors.verify(chain, "a.test"), {
    ok: false,
    reason: "self-signed certificate",
  });
});

Deno.test("cert verify: each pair of certificates costs at most one signature check per verification", async () => {
  const rogue = await createTestCa("Rogue CA");
  const leaf = await rogue.issue(["a.test"]);
  // Six certificates that all sign one another (the leaf aside): the path search comes back
  // to the same pairs again and again.
  const copies = await Promise.all(Array.from({ length: 4 }, () => rogue.crossSign(rogue)));
  const chain = [leaf.certPem, rogue.certPem, ...copies].flatMap(pemChain);
  const { ca } = await testCa();
  let checks = 0;
  const anchors = new TrustAnchors(ca.certPem, (cert, issuer) => {
    checks++;
    return cert.verify(issuer.publicKey);
  });
  assert.deepEqual(anchors.verify(chain, "a.test"), {
    ok: false,
    reason: "self-signed certificate",
  });
  assert.ok(checks > 0);
  assert.ok(checks <= chain.length ** 2, `${checks} signature checks for ${chain.length}`);
});
