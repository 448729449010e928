/**
 * SASL2 (XEP-0388) for the test client: `<authenticate/>` with an initial
 * response, a user agent and inline payloads, and a SCRAM exchange in the
 * SASL2 namespace. Counts the round trips it makes after the features.
 */
import { b64, TestClient } from "./client.ts";
import type { Element } from "../../src/xml/element.ts";
import { NS } from "../../src/xml/namespaces.ts";

export interface Sasl2Login {
  mechanism: string;
  /** Base64 initial response (none: element omitted). */
  initial?: string;
  userAgentId?: string;
  /** Inline XML placed inside <authenticate/> (bind, resume, request-token…). */
  inline?: string;
}

export function authenticateXml(o: Sasl2Login): string {
  const initial = o.initial === undefined
    ? ""
    : `<initial-response>${o.initial}</initial-response>`;
  const ua = o.userAgentId === undefined
    ? ""
    : `<user-agent id='${o.userAgentId}'><software>Tester</software><device>Bench</device></user-agent>`;
  return `<authenticate xmlns='${NS.sasl2}' mechanism='${o.mechanism}'>${initial}${ua}${
    o.inline ?? ""
  }</authenticate>`;
}

/** A direct-TLS client with its features read (the authentication feature among them). */
export async function connectTls(port: number): Promise<TestClient> {
  const c = await TestClient.connect({ port, directTls: true });
  await c.open();
  return c;
}

export function plainResponse(user: string, password: string): string {
  return b64(`\0${user}\0${password}`);
}

/** Waits for the SASL2 answer (success, failure, challenge or continue). */
export async function sasl2Answer(c: TestClient): Promise<Element> {
  return await c.stanza((e) =>
    e.attrs.xmlns === NS.sasl2 &&
    ["success", "failure", "challenge", "continue"].includes(e.name)
  );
}

/** SCRAM over SASL2; returns the final answer, the server-first message and round trips. */
export async function scramSasl2(
  c: TestClient,
  mechanism: "SCRAM-SHA-1" | "SCRAM-SHA-256",
  user: string,
  password: string,
  extra: Omit<Sasl2Login, "mechanism" | "initial"> = {},
): Promise<{ answer: Element; serverFirst: string; roundTrips: number }> {
  const hash = mechanism === "SCRAM-SHA-256" ? "SHA-256" : "SHA-1";
  const nonce = crypto.randomUUID().replaceAll("-", "");
  const bare = `n=${user},r=${nonce}`;
  const gs2 = "n,,";
  c.send(authenticateXml({ ...extra, mechanism, initial: b64(gs2 + bare) }));
  const ch = await sasl2Answer(c);
  if (ch.name !== "challenge") return { answer: ch, serverFirst: "", roundTrips: 1 };
  const serverFirst = atob(ch.text());
  const f = Object.fromEntries(serverFirst.split(",").map((p) => [p[0], p.slice(2)]));
  const enc = new TextEncoder();
  const pw = await crypto.subtle.importKey("raw", enc.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const salted = new Uint8Array(
    await crypto.subtle.deriveBits(
      {
        name: "PBKDF2",
        salt: Uint8Array.from(atob(f.s), (x) => x.charCodeAt(0)),
        iterations: +f.i,
        hash,
      },
      pw,
      hash === "SHA-1" ? 160 : 256,
    ),
  );
  const hmac = async (key: Uint8Array, msg: string) => {
    const k = await crypto.subtle.importKey(
      "raw",
      key as BufferSource,
      { name: "HMAC", hash },
      false,
      ["sign"],
    );
    return new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(msg)));
  };
  const clientKey = await hmac(salted, "Client Key");
  const storedKey = new Uint8Array(await crypto.subtle.digest(hash, clientKey as BufferSource));
  const withoutProof = `c=${btoa(gs2)},r=${f.r}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const sig = await hmac(storedKey, authMessage);
  const proof = clientKey.map((b, i) => b ^ sig[i]);
  c.send(
    `<response xmlns='${NS.sasl2}'>${
      b64(`${withoutProof},p=${btoa(String.fromCharCode(...proof))}`)
    }</response>`,
  );
  const answer = await sasl2Answer(c);
  if (answer.name === "success") {
    const serverKey = await hmac(salted, "Server Key");
    const expected = "v=" + btoa(String.fromCharCode(...await hmac(serverKey, authMessage)));
    const got = atob(answer.getChildText("additional-data") ?? "");
    if (got !== expected) throw new Error(`server signature ${got} != ${expected}`);
  }
  return { answer, serverFirst, roundTrips: 2 };
}
