/** The HTTP request body size limit. */

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
  // With a Content-Length the engine holds the body to it (HTTP/1.1 framing;
  // HTTP/2 refuses a mismatch): nothing left to count. The body stays
  // Deno's own, which lets an upload that gave up on it end the connection
  // (see modules/upload/transfer_deadline.ts).
  if (length !== null) return request;
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
