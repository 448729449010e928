/** Push registrations: the per-user limit holds for enables sent all at once. */
import assert from "node:assert/strict";
import { Registrations } from "../../src/modules/push/registrations.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";

Deno.test("push registrations: pipelined enables stop at the limit", async () => {
  const regs = new Registrations(new MemoryStorage().map("localhost", "push"), 3);
  const results = await Promise.allSettled(
    Array.from(
      { length: 10 },
      (_, i) =>
        regs.enable("alice", { jid: "push.example", node: `n${i}`, options: [], body: false }),
    ),
  );
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 3);
  assert.equal((await regs.all("alice")).length, 3);
  // Replacing one already there is no new registration.
  await regs.enable("alice", { jid: "push.example", node: "n0", options: [], body: true });
  assert.equal((await regs.all("alice")).length, 3);
});
