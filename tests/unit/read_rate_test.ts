import assert from "node:assert/strict";
import { ReadRateBucket } from "../../src/net/read_rate.ts";

Deno.test("ReadRateBucket: the burst is free, then reading waits for the rate", () => {
  const bucket = new ReadRateBucket({ bytesPerSecond: 1000, burstBytes: 2000 }, 0);
  assert.equal(bucket.consume(2000, 0), 0);
  // 500 bytes over: half a second at 1000 B/s.
  assert.equal(bucket.consume(500, 0), 500);
  // After that half second the bucket is back at zero; a second later it holds 1000.
  assert.equal(bucket.consume(1000, 1500), 0);
  // Refill never goes past the burst.
  assert.equal(bucket.consume(2000, 100_000), 0);
  assert.equal(bucket.consume(1, 100_000), 1);
});

Deno.test("ReadRateBucket: a rate of 0 is unlimited", () => {
  const bucket = new ReadRateBucket({ bytesPerSecond: 0, burstBytes: 0 }, 0);
  assert.equal(bucket.consume(1e9, 0), 0);
});
