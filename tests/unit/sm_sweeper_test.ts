import assert from "node:assert/strict";
import { Sweeper } from "../../src/modules/stream_management/sweeper.ts";

Deno.test("sweeper: visits members while it has any, then stops its timer", async () => {
  const visits: string[] = [];
  const sweeper = new Sweeper<string>(10, (m) => {
    visits.push(m);
    if (m === "b") sweeper.delete(m); // a visit may remove members
  });
  sweeper.add("a");
  sweeper.add("b");
  for (let i = 0; i < 100 && !visits.includes("b"); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(visits.includes("a") && visits.includes("b"));
  assert.equal(sweeper.has("b"), false);
  sweeper.delete("a");
  assert.equal(sweeper.size, 0);
  // No timer left behind: the test sanitizer would fail on a leaked interval.
});
