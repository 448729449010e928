/** The status page's signed login cookie and its per-server secret. */
import assert from "node:assert/strict";
import { loadSecret, readCookie, signLogin, verifyLogin } from "../../src/http/status/cookie.ts";

Deno.test("status cookie: signed, verified, refused when expired or signed elsewhere", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-status-" });
  try {
    const secret = await loadSecret(dir);
    assert.deepEqual(await loadSecret(dir), secret, "the secret is kept, not made again");
    assert.equal((await Deno.stat(`${dir}/status-secret`)).mode! & 0o777, 0o600);
    const now = 1_000_000;
    const value = signLogin(secret, { jid: "admin@example.net", exp: now + 1000 });
    assert.deepEqual(verifyLogin(secret, value, now), {
      jid: "admin@example.net",
      exp: now + 1000,
    });
    assert.equal(verifyLogin(secret, value, now + 1000), undefined, "expired");
    const other = new Uint8Array(32).fill(7);
    assert.equal(verifyLogin(other, value, now), undefined, "another server's secret");
    assert.equal(verifyLogin(secret, "x".repeat(5000), now), undefined);
    assert.equal(readCookie("a=1; parley_status=v.w; b=2"), "v.w");
    assert.equal(readCookie("a=1"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("status cookie: a secret file that is not 64 hex digits is an error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-status-" });
  try {
    await Deno.writeTextFile(`${dir}/status-secret`, "short\n");
    await assert.rejects(() => loadSecret(dir), /not a 64-digit hex secret/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
