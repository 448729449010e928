import assert from "node:assert/strict";
import { InternalAuthProvider } from "../../src/auth/internal_provider.ts";
import { deriveScramCredentials, ScramExchange } from "../../src/auth/scram.ts";
import type { SaslContext, SaslStep, ScramHash } from "../../src/auth/types.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b64 = (b: Uint8Array) => b.toBase64();
const unb64 = (s: string) => Uint8Array.fromBase64(s);
const HOST = "example.com";
const KEY_BITS = { "SHA-1": 160, "SHA-256": 256 };

function text(step: SaslStep): string {
  assert.ok(step.kind !== "failure", `unexpected failure ${JSON.stringify(step)}`);
  return dec.decode(step.data ?? new Uint8Array());
}

function assertFailure(step: SaslStep, condition: string): void {
  assert.equal(step.kind, "failure", JSON.stringify(step));
  assert.equal(step.kind === "failure" && step.condition, condition);
}

async function hmac(hash: ScramHash, key: Uint8Array<ArrayBuffer>, data: string) {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(data)));
}

/** An independent SCRAM client computation (RFC 5802 §3), for driving the server. */
async function clientFinal(
  hash: ScramHash,
  password: string,
  clientFirstBare: string,
  serverFirst: string,
  cbind: Uint8Array,
): Promise<{ message: string; serverSignature: string }> {
  const attrs = Object.fromEntries(serverFirst.split(",").map((f) => [f[0], f.slice(2)]));
  const pw = await crypto.subtle.importKey("raw", enc.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const salted = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "PBKDF2", hash, salt: unb64(attrs.s), iterations: Number(attrs.i) },
      pw,
      KEY_BITS[hash],
    ),
  );
  const clientKey = await hmac(hash, salted, "Client Key");
  const storedKey = new Uint8Array(await crypto.subtle.digest(hash, clientKey));
  const withoutProof = `c=${b64(cbind)},r=${attrs.r}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = await hmac(hash, storedKey, authMessage);
  const proof = clientKey.map((b, i) => b ^ signature[i]);
  const serverKey = await hmac(hash, salted, "Server Key");
  return {
    message: `${withoutProof},p=${b64(proof)}`,
    serverSignature: b64(await hmac(hash, serverKey, authMessage)),
  };
}

async function context(extra: Partial<SaslContext> = {}): Promise<SaslContext> {
  const provider = new InternalAuthProvider(new MemoryStorage());
  await provider.createUser(HOST, "user", "pencil");
  await provider.createUser(HOST, "a,b=c", "pencil");
  return { host: HOST, provider, secure: true, ...extra };
}

interface Login {
  hash?: ScramHash;
  plus?: boolean;
  user?: string;
  password?: string;
  gs2?: string;
  /** Channel-binding data the client appends (for -PLUS). */
  cbData?: Uint8Array;
  /** Rewrites the client-final message before sending. */
  tamper?: (final: string) => string;
}

async function login(ctx: SaslContext, o: Login = {}): Promise<SaslStep> {
  const hash = o.hash ?? "SHA-256";
  const gs2 = o.gs2 ?? "n,,";
  const ex = new ScramExchange(hash, o.plus ?? false, ctx);
  const bare = `n=${o.user ?? "user"},r=clientnonce123`;
  const first = await ex.step(enc.encode(gs2 + bare));
  if (first.kind !== "challenge") return first;
  const cbind = new Uint8Array([...enc.encode(gs2), ...(o.cbData ?? [])]);
  const final = await clientFinal(hash, o.password ?? "pencil", bare, text(first), cbind);
  const result = await ex.step(enc.encode((o.tamper ?? ((s) => s))(final.message)));
  if (result.kind === "success") assert.equal(text(result), `v=${final.serverSignature}`);
  return result;
}

async function rfcVector(
  hash: ScramHash,
  salt: string,
  clientNonce: string,
  serverNonce: string,
  proof: string,
  verifier: string,
) {
  const credentials = await deriveScramCredentials("pencil", hash, 4096, unb64(salt));
  const ex = new ScramExchange(hash, false, await context(), { serverNonce, credentials });
  const challenge = await ex.step(enc.encode(`n,,n=user,r=${clientNonce}`));
  const nonce = clientNonce + serverNonce;
  assert.equal(text(challenge), `r=${nonce},s=${salt},i=4096`);
  const success = await ex.step(enc.encode(`c=biws,r=${nonce},p=${proof}`));
  assert.equal(success.kind, "success");
  assert.equal(success.kind === "success" && success.username, "user");
  assert.equal(text(success), `v=${verifier}`);
}

Deno.test("SCRAM-SHA-1 reproduces the RFC 5802 §5 example", async () => {
  await rfcVector(
    "SHA-1",
    "QSXCR+Q6sek8bf92",
    "fyko+d2lbbFgONRv9qkxdawL",
    "3rfcNHYJY1ZVvWVs7j",
    "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    "rmF9pqV8S7suAoZWja4dJRkFsKQ=",
  );
});

Deno.test("SCRAM-SHA-256 reproduces the RFC 7677 §3 example", async () => {
  await rfcVector(
    "SHA-256",
    "W22ZaJ0SNY7soEsUEjb6gQ==",
    "rOprNGfwEbeRWgbNEkqO",
    "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
  );
});

Deno.test("a full exchange succeeds with stored credentials, for both hashes", async () => {
  const ctx = await context();
  for (const hash of ["SHA-1", "SHA-256"] as const) {
    const step = await login(ctx, { hash });
    assert.equal(step.kind, "success");
    assert.equal(step.kind === "success" && step.username, "user");
  }
});

Deno.test("without an initial response the server sends an empty challenge first", async () => {
  const ctx = await context();
  const ex = new ScramExchange("SHA-256", false, ctx);
  const empty = await ex.step(null);
  assert.equal(empty.kind, "challenge");
  assert.equal(text(empty), "");
  const first = await ex.step(enc.encode("n,,n=user,r=abc"));
  assert.match(text(first), /^r=abc[^,]+,s=[^,]+,i=4096$/);
});

Deno.test("escaped usernames (=2C, =3D) are decoded", async () => {
  const step = await login(await context(), { user: "a=2Cb=3Dc" });
  assert.equal(step.kind === "success" && step.username, "a,b=c");
});

Deno.test("a wrong password fails with not-authorized, naming the account", async () => {
  const step = await login(await context(), { password: "wrong" });
  assertFailure(step, "not-authorized");
  assert.equal(step.kind === "failure" && step.username, "user");
});

Deno.test("an unknown user is indistinguishable from a wrong password", async () => {
  const ctx = await context();
  const serverFirst = async (user: string) => {
    const ex = new ScramExchange("SHA-256", false, ctx);
    const attrs = text(await ex.step(enc.encode(`n,,n=${user},r=abc`))).split(",");
    return { nonceLength: attrs[0].length, salt: attrs[1], iterations: attrs[2] };
  };
  const known = await serverFirst("user");
  const unknown = await serverFirst("nobody");
  assert.equal(unknown.nonceLength, known.nonceLength);
  assert.equal(unb64(unknown.salt.slice(2)).length, unb64(known.salt.slice(2)).length);
  assert.equal(unknown.iterations, known.iterations);
  // The same fake salt each time, as a real account's would be.
  assert.deepEqual(await serverFirst("nobody"), unknown);
  assert.notEqual((await serverFirst("nobody2")).salt, unknown.salt);

  const wrong = await login(ctx, { password: "wrong" });
  const missing = await login(ctx, { user: "nobody" });
  assert.deepEqual(
    { ...missing, username: undefined },
    { ...wrong, username: undefined },
  );
});

Deno.test("a bad proof fails", async () => {
  const ctx = await context();
  const flip = (s: string) => {
    const proof = unb64(s.slice(s.lastIndexOf("p=") + 2));
    proof[0] ^= 1;
    return `${s.slice(0, s.lastIndexOf("p=") + 2)}${b64(proof)}`;
  };
  assertFailure(await login(ctx, { tamper: flip }), "not-authorized");
  const short = (s: string) => s.replace(/p=.*$/, "p=AAAA");
  assertFailure(await login(ctx, { tamper: short }), "not-authorized");
});

Deno.test("a nonce the server did not issue fails", async () => {
  const tamper = (s: string) => s.replace(/,r=([^,]*)/, ",r=$1x");
  assertFailure(await login(await context(), { tamper }), "not-authorized");
});

Deno.test("malformed client-first messages fail with malformed-request", async () => {
  const ctx = await context();
  const bad = [
    "",
    "n,,",
    "x,,n=user,r=abc",
    "n,a,n=user,r=abc",
    "n,,r=abc",
    "n,,n=user",
    "n,,n=,r=abc",
    "n,,n=us=er,r=abc",
    "n,,n=user,r=",
    "n,,n=user,r=abc,!",
    "n,,m=ext,n=user,r=abc",
    "n,,n=user\u0007,r=abc",
  ];
  for (const message of bad) {
    const step = await new ScramExchange("SHA-256", false, ctx).step(enc.encode(message));
    assertFailure(step, "malformed-request");
  }
  const notUtf8 = await new ScramExchange("SHA-1", false, ctx).step(new Uint8Array([0xff, 0xfe]));
  assertFailure(notUtf8, "malformed-request");
});

Deno.test("malformed client-final messages fail with malformed-request", async () => {
  const ctx = await context();
  const rewrites: ((s: string) => string)[] = [
    () => "garbage",
    (s) => s.replace(/,p=.*$/, ""),
    (s) => s.replace(/^c=[^,]*/, "c=!!"),
    (s) => s.replace(/p=(.*)$/, "p=$1 "),
    (s) => s.replace(/^c=[^,]*,/, ""),
  ];
  for (const tamper of rewrites) assertFailure(await login(ctx, { tamper }), "malformed-request");
});

Deno.test("steps after the exchange ended fail", async () => {
  const ex = new ScramExchange("SHA-256", false, await context());
  assertFailure(await ex.step(enc.encode("garbage")), "malformed-request");
  assertFailure(await ex.step(enc.encode("n,,n=user,r=abc")), "malformed-request");
});

Deno.test("authzid must be empty or the user's own bare JID", async () => {
  const ctx = await context();
  for (const gs2 of ["n,a=user@example.com,", "n,a=USER@Example.COM,"]) {
    assert.equal((await login(ctx, { gs2 })).kind, "success", gs2);
  }
  for (
    const gs2 of ["n,a=other@example.com,", "n,a=user@example.org,", "n,a=user@example.com/r,"]
  ) {
    assertFailure(await login(ctx, { gs2 }), "invalid-authzid");
  }
  // A wrong password with a foreign authzid still says only not-authorized.
  const step = await login(ctx, { gs2: "n,a=other@example.com,", password: "x" });
  assertFailure(step, "not-authorized");
});

Deno.test("-PLUS verifies tls-server-end-point channel binding", async () => {
  const cb = crypto.getRandomValues(new Uint8Array(32));
  const ctx = await context({ tlsServerEndPoint: cb });
  const gs2 = "p=tls-server-end-point,,";
  for (const hash of ["SHA-1", "SHA-256"] as const) {
    assert.equal((await login(ctx, { hash, plus: true, gs2, cbData: cb })).kind, "success");
  }
  const other = crypto.getRandomValues(new Uint8Array(32));
  assertFailure(await login(ctx, { plus: true, gs2, cbData: other }), "not-authorized");
  // Claiming no binding inside the -PLUS mechanism is a protocol error.
  assertFailure(await login(ctx, { plus: true, gs2: "n,," }), "malformed-request");
  assertFailure(await login(ctx, { plus: true, gs2: "y,," }), "malformed-request");
  assertFailure(await login(ctx, { plus: true, gs2: "p=tls-unique,," }), "not-authorized");
  // The binding must also be in c=: a client-final claiming plain "n,," fails.
  const strip = (s: string) => s.replace(/^c=[^,]*/, "c=biws");
  assertFailure(await login(ctx, { plus: true, gs2, cbData: cb, tamper: strip }), "not-authorized");
});

Deno.test("channel binding requested of a non-PLUS mechanism is malformed", async () => {
  const cb = crypto.getRandomValues(new Uint8Array(32));
  const ctx = await context({ tlsServerEndPoint: cb });
  const gs2 = "p=tls-server-end-point,,";
  assertFailure(await login(ctx, { gs2, cbData: cb }), "malformed-request");
});

Deno.test("the y flag is refused where -PLUS is offered (RFC 5802 §6), accepted where not", async () => {
  const withPlus = await context({ tlsServerEndPoint: new Uint8Array(32) });
  for (const hash of ["SHA-1", "SHA-256"] as const) {
    // Someone stripped -PLUS from the list the client saw: fail, whatever the password.
    const step = await login(withPlus, { hash, gs2: "y,," });
    assertFailure(step, "malformed-request");
    assert.equal(step.kind === "failure" && step.username, undefined, "no password was checked");
    assertFailure(
      await login(withPlus, { hash, gs2: "y,a=user@example.com," }),
      "malformed-request",
    );
  }
  // "n" (the client cannot bind) stays fine beside -PLUS.
  assert.equal((await login(withPlus, { gs2: "n,," })).kind, "success");
  // Without -PLUS on offer (SASL1), "y" is the truth: slixmpp 1.8 sends it on every login.
  const withoutPlus = await context();
  for (const hash of ["SHA-1", "SHA-256"] as const) {
    assert.equal((await login(withoutPlus, { hash, gs2: "y,," })).kind, "success");
    assert.equal((await login(withoutPlus, { hash, gs2: "n,," })).kind, "success");
  }
  assertFailure(await login(withoutPlus, { gs2: "y,,", password: "x" }), "not-authorized");
});

Deno.test("deriveScramCredentials SASLpreps the password and rejects what it prohibits", async () => {
  const salt = new Uint8Array(16);
  // U+00AD (soft hyphen) maps to nothing under SASLprep.
  const a = await deriveScramCredentials("pen\u00adcil", "SHA-256", 4096, salt);
  const b = await deriveScramCredentials("pencil", "SHA-256", 4096, salt);
  assert.deepEqual(a, b);
  await assert.rejects(deriveScramCredentials("bell\u0007", "SHA-256", 4096));
  await assert.rejects(deriveScramCredentials("", "SHA-256", 4096));
});
