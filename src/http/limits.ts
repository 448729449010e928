/** The HTTP server's bounds: counts per address with a global cap, and the body size limit. */

/** Things in progress per key (an address) with a cap per key and one over all keys. */
export class KeyedCounter {
  #total = 0;
  #perKey = new Map<string, number>();

  constructor(readonly maxTotal: number, readonly maxPerKey: number) {}

  /** Count one more for `key`, or refuse: "total" (server-wide) or "per-key". */
  acquire(key: string): "total" | "per-key" | undefined {
    if (this.#total >= this.maxTotal) return "total";
    const n = this.#perKey.get(key) ?? 0;
    if (n >= this.maxPerKey) return "per-key";
    this.#perKey.set(key, n + 1);
    this.#total++;
    return undefined;
  }

  release(key: string): void {
    const n = this.#perKey.get(key);
    if (n === undefined) return;
    this.#total--;
    if (n <= 1) this.#perKey.delete(key);
    else this.#perKey.set(key, n - 1);
  }

  get total(): number {
    return this.#total;
  }
}

/** Thrown into a handler reading a body that grew past the limit; answered with 413. */
export class BodyTooLarge extends Error {
  override name = "BodyTooLarge";
}

/**
 * The request with its body capped at `max` bytes, or "too-large" when
 * Content-Length already says so. A body without a Content-Length
 * (chunked) is counted as it streams: past the limit the handler's read
 * fails with BodyTooLarge. A request without a body is returned as is,
 * so `Deno.upgradeWebSocket` still accepts it.
 */
export function limitBody(request: Request, max: number): Request | "too-large" {
  const length = request.headers.get("content-length");
  if (length !== null && !(Number(length) <= max)) return "too-large";
  if (!request.body) return request;
  let seen = 0;
  const counted = request.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > max) controller.error(new BodyTooLarge(`request body over ${max} bytes`));
        else controller.enqueue(chunk);
      },
    }),
  );
  // Not `new Request(request, …)`: that copies request.signal, whose legacy
  // semantics Deno warns about on first access.
  return new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body: counted,
    duplex: "half",
  } as RequestInit);
}
