/**
 * Dialback keys (XEP-0185): HMAC-SHA256 keyed with the hex SHA-256 of a
 * secret, over "receiving originating streamid". The secret is made per
 * running server, so nothing needs storing: a key this process generated
 * is recognised by recomputing it when a peer asks (db:verify).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export class DialbackKeys {
  readonly #hmacKey: string;

  constructor(secret: string = randomBytes(32).toString("hex")) {
    this.#hmacKey = createHash("sha256").update(secret).digest("hex");
  }

  generate(receiving: string, originating: string, streamId: string): string {
    return createHmac("sha256", this.#hmacKey)
      .update(`${receiving} ${originating} ${streamId}`)
      .digest("hex");
  }

  verify(receiving: string, originating: string, streamId: string, key: string): boolean {
    const expected = new TextEncoder().encode(this.generate(receiving, originating, streamId));
    const given = new TextEncoder().encode(key.trim());
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
