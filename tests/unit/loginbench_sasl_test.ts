/**
 * The login benchmark's client SASL (bench/login/sasl.ts) against the RFC
 * 5802 §5 example exchange, and HT-SHA-256-NONE's initial response shape.
 */
import assert from "node:assert/strict";
import { b64, htInitial, htVerify, scram, unb64 } from "../../bench/login/sasl.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("loginbench SCRAM-SHA-1 reproduces the RFC 5802 example", async () => {
  const s = scram("SCRAM-SHA-1", "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL");
  assert.equal(dec.decode(s.first), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  const final = await s.final(
    enc.encode("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"),
  );
  assert.equal(
    dec.decode(final),
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
  );
  assert(s.verify(enc.encode("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")));
  assert(!s.verify(enc.encode("v=AAAA")));
});

Deno.test("loginbench HT-SHA-256-NONE: authcid NUL 32-byte HMAC, and the responder proof", async () => {
  const r = await htInitial("alice", "secret-token");
  assert.equal(dec.decode(r.slice(0, 6)), "alice\0");
  assert.equal(r.length, 6 + 32);
  const key = await crypto.subtle.importKey(
    "raw",
    enc.encode("secret-token"),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const initiator = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode("Initiator")));
  assert.deepEqual(r.slice(6), initiator, 'HMAC(token, "Initiator"), no channel binding');
  const responder = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode("Responder")));
  assert(await htVerify("secret-token", unb64(b64(responder))));
  assert(!(await htVerify("other-token", responder)));
});
