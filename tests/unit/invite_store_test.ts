import assert from "node:assert/strict";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { InviteStore, parseDuration, plausibleToken } from "../../src/modules/invites/store.ts";
import { inviteUri } from "../../src/modules/invites/uri.ts";

Deno.test("invite store: uses are counted once each, even when taken at once", async () => {
  const store = new InviteStore(new MemoryStorage().map("example.org", "invites"));
  const invite = await store.create({ inviter: "admin", ttlMs: 60_000, uses: 2, roster: false });
  assert.ok(plausibleToken(invite.token));
  const taken = await Promise.all([1, 2, 3, 4].map(() => store.take(invite.token)));
  assert.equal(taken.filter((t) => t !== undefined).length, 2);
  assert.equal(await store.valid(invite.token), undefined);
  await store.giveBack(invite);
  assert.ok(await store.take(invite.token));
});

Deno.test("invite store: expired invites are refused and removed", async () => {
  const store = new InviteStore(new MemoryStorage().map("example.org", "invites"));
  const old = await store.create({ inviter: "admin", ttlMs: 1000, uses: 1, roster: false }, 0);
  assert.equal(await store.take(old.token), undefined);
  assert.deepEqual(await store.list(), []);
});

Deno.test("invite store: createBounded stops at an inviter's usable invites", async () => {
  const store = new InviteStore(new MemoryStorage().map("example.org", "invites"));
  const opts = { inviter: "a@example.org", ttlMs: 60_000, uses: 1, roster: true };
  await store.create({ ...opts, ttlMs: 1000 }, 0); // expired: deleted, not counted
  const made = await Promise.all([1, 2, 3, 4].map(() => store.createBounded(opts, 2)));
  assert.equal(made.filter((i) => i !== undefined).length, 2);
  assert.ok(await store.createBounded({ ...opts, inviter: "b@example.org" }, 2));
  assert.equal((await store.list()).length, 3);
  await store.take(made.find((i) => i !== undefined)!.token);
  assert.ok(await store.createBounded(opts, 2), "a used invite no longer counts");
});

Deno.test("invite URIs and durations", () => {
  const base = { token: "abcdefghijklmnopqrstuv", created: 0, expires: 1, usesLeft: 1 };
  assert.equal(
    inviteUri("example.org", { ...base, inviter: "admin", roster: false }),
    "xmpp:example.org?register;preauth=abcdefghijklmnopqrstuv",
  );
  assert.equal(
    inviteUri("example.org", { ...base, inviter: "a@example.org", roster: true }),
    "xmpp:a@example.org?roster;preauth=abcdefghijklmnopqrstuv;ibr=y",
  );
  assert.equal(parseDuration("7d"), 7 * 86400_000);
  assert.equal(parseDuration("90"), 90_000);
  assert.equal(parseDuration("2w"), 14 * 86400_000);
  assert.equal(parseDuration("soon"), undefined);
  assert.equal(parseDuration("0"), undefined);
});
