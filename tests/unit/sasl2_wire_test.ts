/** SASL2/Bind2 helpers of the client stream: peer-controlled ids and tags are bounded. */
import assert from "node:assert/strict";
import { bind2Resource, userAgentId } from "../../src/stream/sasl2.ts";
import { el } from "../../src/xml/element.ts";
import { NS } from "../../src/xml/namespaces.ts";

const authenticate = (id?: string) =>
  el("authenticate", { xmlns: NS.sasl2 }, el("user-agent", { id }));

Deno.test("SASL2 user agent id: kept up to 256 characters, ignored past that or empty", () => {
  assert.equal(userAgentId(authenticate("a".repeat(256))), "a".repeat(256));
  assert.equal(userAgentId(authenticate("a".repeat(257))), undefined);
  assert.equal(userAgentId(authenticate("")), undefined);
  assert.equal(userAgentId(el("authenticate", { xmlns: NS.sasl2 })), undefined);
});

Deno.test("Bind2 resource: tag cut to 32 characters, then a hash of the user agent id", () => {
  const r = bind2Resource("x".repeat(5000), "ua-1");
  assert.match(r, /^x{32}\.[0-9a-f]{8}$/);
  assert.equal(bind2Resource("Phone", "ua-1"), bind2Resource("Phone", "ua-1"), "stable per agent");
  assert.notEqual(bind2Resource("Phone", "ua-1"), bind2Resource("Phone", "ua-2"));
  assert.match(bind2Resource(undefined, undefined), /^[^.]+$/, "random without id or tag");
});
