import assert from "node:assert/strict";
import { capsVer } from "../../src/modules/caps.ts";
import { form } from "../../src/util/dataforms.ts";

const DISCO = "http://jabber.org/protocol/disco";

Deno.test("caps: XEP-0115 §5.2 simple generation example", () => {
  const ver = capsVer(
    [{ category: "client", type: "pc", name: "Exodus 0.9.1" }],
    [
      DISCO + "#info",
      DISCO + "#items",
      "http://jabber.org/protocol/muc",
      "http://jabber.org/protocol/caps",
    ],
  );
  assert.equal(ver, "QgayPKawpkPSDYmwT/WM94uAlu0=");
});

Deno.test("caps: XEP-0115 §5.3 complex generation example (langs, extended form)", () => {
  const softwareinfo = form("result", [
    { var: "ip_version", values: ["ipv6", "ipv4"] },
    { var: "os", values: ["Mac"] },
    { var: "os_version", values: ["10.5.1"] },
    { var: "software", values: ["Psi"] },
    { var: "software_version", values: ["0.11"] },
  ], { formType: "urn:xmpp:dataforms:softwareinfo" });
  const ver = capsVer(
    [
      { category: "client", type: "pc", lang: "en", name: "Psi 0.11" },
      { category: "client", type: "pc", lang: "el", name: "\u03a8 0.11" },
    ],
    [
      "http://jabber.org/protocol/muc",
      "http://jabber.org/protocol/caps",
      DISCO + "#items",
      DISCO + "#info",
    ],
    [softwareinfo],
  );
  assert.equal(ver, "q07IKJEyjvHSyhy//CH0CxmKi8w=");
});

Deno.test("caps: a form without FORM_TYPE is left out; duplicate features count once", () => {
  const base = capsVer([{ category: "server", type: "im" }], ["a", "b"]);
  assert.equal(capsVer([{ category: "server", type: "im" }], ["b", "a", "a"]), base);
  assert.equal(
    capsVer([{ category: "server", type: "im" }], ["a", "b"], [form("result", [{ var: "x" }])]),
    base,
  );
  assert.notEqual(capsVer([{ category: "server", type: "im" }], ["a"]), base);
});
