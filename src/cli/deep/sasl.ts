/**
 * The client side of SASL for the deep check: SCRAM-SHA-256 or SCRAM-SHA-1
 * (RFC 5802/7677, without channel binding: the check proves logins work,
 * not -PLUS), else PLAIN (over TLS only). Uses the server's SASLprep.
 */
import { saslPrep } from "../../auth/scram.ts";
import { NS } from "../../xml/namespaces.ts";
import type { Element } from "../../xml/element.ts";
import type { Link } from "./link.ts";
import {
  decodeBase64,
  decodeBase64Text,
  encodeBase64,
  encodeBase64Text,
} from "../../util/base64.ts";

const enc = new TextEncoder();

/** Authenticates with the best mechanism offered; resolves to its name, throws on failure. */
export async function authenticate(
  link: Link,
  features: Element,
  user: string,
  password: string,
): Promise<string> {
  const offered =
    features.getChild("mechanisms", NS.sasl)?.getChildren("mechanism").map((m) => m.text()) ?? [];
  const mechanism = ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"].find((m) => offered.includes(m));
  if (!mechanism) throw new Error(`no usable SASL mechanism (offered: ${offered.join(", ")})`);
  const done = (e: Element) => e.name === "success" || e.name === "failure";
  if (mechanism === "PLAIN") {
    await link.send(
      `<auth xmlns='${NS.sasl}' mechanism='PLAIN'>${
        encodeBase64Text(`\0${user}\0${password}`)
      }</auth>`,
    );
    const r = await link.next(done);
    if (r.name !== "success") throw new Error(`PLAIN failed: ${r.firstElement()?.name}`);
    return mechanism;
  }
  const hash = mechanism === "SCRAM-SHA-256" ? "SHA-256" : "SHA-1";
  const nonce = encodeBase64(crypto.getRandomValues(new Uint8Array(18)));
  const bare = `n=${user.replaceAll("=", "=3D").replaceAll(",", "=2C")},r=${nonce}`;
  await link.send(
    `<auth xmlns='${NS.sasl}' mechanism='${mechanism}'>${encodeBase64Text("n,," + bare)}</auth>`,
  );
  const ch = await link.next((e) => e.name === "challenge" || e.name === "failure");
  if (ch.name === "failure") throw new Error(`${mechanism} failed: ${ch.firstElement()?.name}`);
  const serverFirst = decodeBase64Text(ch.text()) ?? "";
  const f = Object.fromEntries(serverFirst.split(",").map((p) => [p[0], p.slice(2)]));
  const salt = decodeBase64(f.s ?? "");
  if (!f.r?.startsWith(nonce) || !salt?.length || !(Number(f.i) > 0)) {
    throw new Error("bad SCRAM challenge");
  }
  const prepared = saslPrep(password, false) ?? password;
  const key = await crypto.subtle.importKey("raw", enc.encode(prepared), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = hash === "SHA-256" ? 256 : 160;
  const salted = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "PBKDF2", salt: new Uint8Array(salt), iterations: Number(f.i), hash },
      key,
      bits,
    ),
  );
  const clientKey = await hmac(hash, salted, "Client Key");
  const storedKey = new Uint8Array(await crypto.subtle.digest(hash, clientKey));
  const withoutProof = `c=${encodeBase64Text("n,,")},r=${f.r}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const signature = await hmac(hash, storedKey, authMessage);
  const proof = clientKey.map((b, i) => b ^ signature[i]);
  await link.send(
    `<response xmlns='${NS.sasl}'>${
      encodeBase64Text(`${withoutProof},p=${encodeBase64(proof)}`)
    }</response>`,
  );
  const r = await link.next(done);
  if (r.name !== "success") throw new Error(`${mechanism} failed: ${r.firstElement()?.name}`);
  // Mutual authentication: the server proves it knows the password too.
  const serverKey = await hmac(hash, salted, "Server Key");
  const expected = encodeBase64(await hmac(hash, serverKey, authMessage));
  const final = decodeBase64Text(r.text());
  if (final !== `v=${expected}`) throw new Error(`${mechanism}: server signature does not verify`);
  return mechanism;
}

async function hmac(
  hash: string,
  key: Uint8Array<ArrayBuffer>,
  data: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(data)));
}
