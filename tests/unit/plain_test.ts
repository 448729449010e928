import assert from "node:assert/strict";
import { InternalAuthProvider } from "../../src/auth/internal_provider.ts";
import { PlainExchange } from "../../src/auth/plain.ts";
import type { SaslContext, SaslStep } from "../../src/auth/types.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";

const HOST = "example.com";

async function context(): Promise<SaslContext> {
  const provider = new InternalAuthProvider(new MemoryStorage());
  await provider.createUser(HOST, "juliet", "r0m30myr0m30");
  return { host: HOST, provider, secure: true };
}

function plain(ctx: SaslContext, message: string | Uint8Array): Promise<SaslStep> {
  const data = typeof message === "string" ? new TextEncoder().encode(message) : message;
  return new PlainExchange(ctx).step(data);
}

function condition(step: SaslStep): string | undefined {
  return step.kind === "failure" ? step.condition : undefined;
}

Deno.test("PLAIN accepts the RFC 6120 example credentials", async () => {
  const step = await plain(await context(), "\0juliet\0r0m30myr0m30");
  assert.deepEqual(step, { kind: "success", username: "juliet" });
});

Deno.test("PLAIN prepares the authcid (case, SASLprep) and the password", async () => {
  const ctx = await context();
  assert.equal((await plain(ctx, "\0Juliet\0r0m30myr0m30")).kind, "success");
  // U+00AD maps to nothing under SASLprep, in the name and the password alike.
  assert.equal((await plain(ctx, "\0jul\u00adiet\0r0m30\u00admyr0m30")).kind, "success");
});

Deno.test("PLAIN: wrong password and unknown user both give not-authorized", async () => {
  const ctx = await context();
  const wrong = await plain(ctx, "\0juliet\0nope");
  const unknown = await plain(ctx, "\0romeo\0nope");
  assert.equal(condition(wrong), "not-authorized");
  assert.equal(condition(unknown), "not-authorized");
  assert.equal(wrong.kind === "failure" && wrong.username, "juliet");
  assert.deepEqual({ ...wrong, username: undefined }, { ...unknown, username: undefined });
});

Deno.test("PLAIN: malformed messages and empty fields", async () => {
  const ctx = await context();
  for (const m of ["", "juliet", "\0juliet", "a\0b\0c\0d", "\0\0r0m30myr0m30", "\0bad\u0007\0x"]) {
    assert.equal(condition(await plain(ctx, m)), "malformed-request", JSON.stringify(m));
  }
  assert.equal(
    condition(await plain(ctx, new Uint8Array([0, 0xff, 0, 0x61]))),
    "malformed-request",
  );
  // An empty password cannot match an account: answered like a wrong one.
  assert.equal(condition(await plain(ctx, "\0juliet\0")), "not-authorized");
  // A name that cannot be a localpart is simply not an account.
  assert.equal(condition(await plain(ctx, "\0jul@iet\0x")), "not-authorized");
});

Deno.test("PLAIN: authzid must be empty or the user's own bare JID", async () => {
  const ctx = await context();
  assert.equal((await plain(ctx, "juliet@example.com\0juliet\0r0m30myr0m30")).kind, "success");
  assert.equal((await plain(ctx, "Juliet@EXAMPLE.com\0juliet\0r0m30myr0m30")).kind, "success");
  for (const authzid of ["romeo@example.com", "juliet@example.org", "juliet@example.com/balcony"]) {
    const step = await plain(ctx, `${authzid}\0juliet\0r0m30myr0m30`);
    assert.equal(condition(step), "invalid-authzid", authzid);
  }
  // Without the password, a foreign authzid reveals nothing more.
  assert.equal(condition(await plain(ctx, "romeo@example.com\0juliet\0x")), "not-authorized");
});

Deno.test("PLAIN without an initial response: empty challenge, then the credentials", async () => {
  const ctx = await context();
  const ex = new PlainExchange(ctx);
  const challenge = await ex.step(null);
  assert.equal(challenge.kind, "challenge");
  assert.equal(challenge.kind === "challenge" && challenge.data.length, 0);
  const step = await ex.step(new TextEncoder().encode("\0juliet\0r0m30myr0m30"));
  assert.equal(step.kind, "success");
  assert.equal(condition(await ex.step(new Uint8Array())), "malformed-request");
});

Deno.test("PLAIN: a failing provider gives temporary-auth-failure", async () => {
  const ctx = await context();
  ctx.provider.testPassword = () => Promise.reject(new Error("db down"));
  assert.equal(condition(await plain(ctx, "\0juliet\0x")), "temporary-auth-failure");
});
