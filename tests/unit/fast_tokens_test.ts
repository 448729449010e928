/** FAST token store (XEP-0484): bounds. */
import assert from "node:assert/strict";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { FastTokens, MAX_AGENTS_PER_USER } from "../../src/modules/fast/tokens.ts";
import type { AuthProvider } from "../../src/auth/types.ts";

const auth = {
  getScramCredentials: () => Promise.resolve({ salt: "s", storedKey: "k" }),
} as unknown as AuthProvider;

Deno.test("FAST tokens: one account with ever new user agent ids stays bounded", async () => {
  const store = new MemoryStorage().map("example.com", "fast_tokens");
  let now = 1_000_000;
  const tokens = new FastTokens(store, new Uint8Array(32), auth, "example.com", 14, () => now);
  for (let i = 0; i < MAX_AGENTS_PER_USER * 3; i++) {
    now += 1000;
    await tokens.issue("alice", `agent-${i}`);
  }
  const all = await store.getAll("alice");
  assert.equal(all.size, MAX_AGENTS_PER_USER);
  // The newest installations kept, the oldest replaced.
  assert.ok(all.has(FastTokens.agentKey(`agent-${MAX_AGENTS_PER_USER * 3 - 1}`)));
  assert.ok(!all.has(FastTokens.agentKey("agent-0")));
  // A known installation's rotation does not evict anybody.
  await tokens.issue("alice", `agent-${MAX_AGENTS_PER_USER * 3 - 1}`);
  assert.equal((await store.getAll("alice")).size, MAX_AGENTS_PER_USER);
});

Deno.test("FAST tokens: refused once expired", async () => {
  const store = new MemoryStorage().map("example.com", "fast_tokens");
  let now = 1_000_000;
  const tokens = new FastTokens(store, new Uint8Array(32), auth, "example.com", 1, () => now);
  const { token, expires } = await tokens.issue("alice", "ua");
  const matches = (t: Uint8Array) => Promise.resolve(new TextDecoder().decode(t) === token);
  assert.ok(await tokens.use("alice", "ua", matches), "valid before expiry");
  assert.equal(await tokens.use("alice", "other-ua", matches), undefined, "another installation");
  now = expires;
  assert.equal(await tokens.use("alice", "ua", matches), undefined, "expired");
});
