import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { b64 } from "../helpers/client.ts";
import { connectTls, scramSasl2 } from "../helpers/sasl2.ts";
import { NS } from "../../src/xml/namespaces.ts";

/** XEP-0474 as a client checks it: hash of sorted mechanisms "|" sorted binding types. */
async function expectedD(hash: string, mechanisms: string[], bindings: string[]): Promise<string> {
  const text = [...mechanisms].sort().join(",") + "|" + [...bindings].sort().join(",");
  const digest = await crypto.subtle.digest(hash, new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

function attrs(message: string): Record<string, string> {
  return Object.fromEntries(message.split(",").map((p) => [p[0], p.slice(2)]));
}

Deno.test("SSDP (XEP-0474): SCRAM server-first carries d= over the advertised list, SASL1 and SASL2", async () => {
  const server = await startTestServer();
  try {
    // SASL2
    for (const [mechanism, hash] of [["SCRAM-SHA-256", "SHA-256"], ["SCRAM-SHA-1", "SHA-1"]]) {
      const c = await connectTls(server.ports.c2sDirectTls);
      const listed = c.features!.getChild("authentication", NS.sasl2)!.getChildren("mechanism")
        .map((m) => m.text());
      const { answer, serverFirst } = await scramSasl2(
        c,
        mechanism as "SCRAM-SHA-1",
        "alice",
        "wonderland",
      );
      assert.equal(answer.name, "success");
      assert.equal(attrs(serverFirst).d, await expectedD(hash, listed, []));
      // A list shortened on the way (SCRAM-SHA-256 stripped) would not match.
      assert.notEqual(
        attrs(serverFirst).d,
        await expectedD(hash, listed.filter((m) => m !== "SCRAM-SHA-256"), []),
      );
      c.close();
    }
    // SASL1: the same attribute in the challenge; the exchange still completes
    // (TestClient.auth ignores unknown attributes, as RFC 5802 §5 asks).
    const c = await connectTls(server.ports.c2sDirectTls);
    const listed = c.mechanisms();
    c.send(
      `<auth xmlns='${NS.sasl}' mechanism='SCRAM-SHA-256'>${b64("n,,n=alice,r=abcdef")}</auth>`,
    );
    const ch = await c.stanza((e) => e.name === "challenge");
    assert.equal(attrs(atob(ch.text())).d, await expectedD("SHA-256", listed, []));
    c.send(`<abort xmlns='${NS.sasl}'/>`);
    await c.stanza((e) => e.name === "failure");
    assert.equal((await c.auth("SCRAM-SHA-256", "alice", "wonderland")).name, "success");
    c.close();
  } finally {
    await server.stop();
  }
});

/**
 * XEP-0474 0.4+ (the current text): attribute `h`, mechanisms sorted and
 * joined by U+001E, then U+001F and the binding types only when XEP-0440
 * advertised any.
 */
async function expectedH(hash: string, mechanisms: string[], bindings?: string[]) {
  let text = [...mechanisms].sort().join("\x1e");
  if (bindings !== undefined) text += "\x1f" + [...bindings].sort().join("\x1e");
  const digest = await crypto.subtle.digest(hash, new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

Deno.test("SSDP (XEP-0474 0.4+): server-first carries h= (U+001E/U+001F form) beside d=", async () => {
  const server = await startTestServer();
  try {
    const c = await connectTls(server.ports.c2sDirectTls);
    const listed = c.features!.getChild("authentication", NS.sasl2)!.getChildren("mechanism")
      .map((m) => m.text());
    // No XEP-0440 list is advertised while no -PLUS is offered: no U+001F part.
    assert.equal(c.features!.getChild("sasl-channel-binding", NS.saslChannelBinding), undefined);
    const { answer, serverFirst } = await scramSasl2(c, "SCRAM-SHA-256", "alice", "wonderland");
    assert.equal(answer.name, "success");
    assert.equal(attrs(serverFirst).h, await expectedH("SHA-256", listed));
    c.close();
  } finally {
    await server.stop();
  }
});
