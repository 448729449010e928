/** The HTTP request body bounds: its size, and how long it may take to arrive. */

/** Thrown into a handler reading a body that grew past the limit; answered with 413. */
export class BodyTooLarge extends Error {
  override name = "BodyTooLarge";
}

/** Thrown into a handler reading a body that did not arrive in time; answered with 408. */
export class BodyTimedOut extends Error {
  override name = "BodyTimedOut";
}

/**
 * The request with its body capped at `max` bytes, or "too-large" when
 * Content-Length already says so. A body without a Content-Length
 * (chunked) is counted as it streams: past the limit the handler's read
 * fails with BodyTooLarge. With `deadlineMs`, a read still waiting for
 * the body that long after the handler began reading it fails with
 * BodyTimedOut: a client that sends the start of a body and then nothing
 * would otherwise keep its request in progress (and counted against the
 * limits) for ever.
 * A request without a body is returned as is, so `Deno.upgradeWebSocket`
 * still accepts it.
 */
export function limitBody(
  request: Request,
  max: number,
  deadlineMs?: number,
): Request | "too-large" {
  const length = request.headers.get("content-length");
  if (length !== null && !(Number(length) <= max)) return "too-large";
  if (!request.body) return request;
  // With a Content-Length the engine holds the body to it (HTTP/1.1 framing;
  // HTTP/2 refuses a mismatch): nothing left to count. Without a deadline
  // the body stays Deno's own, which lets an upload that gave up on it end
  // the connection (see modules/upload/transfer_deadline.ts).
  if (length !== null && deadlineMs === undefined) return request;
  const body = guardedBody(request.body, length === null ? max : Infinity, deadlineMs);
  // Not `new Request(request, …)`: that copies request.signal, whose legacy
  // semantics Deno warns about on first access.
  return new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body,
    duplex: "half",
  } as RequestInit);
}

/** `source` passed on until it passes `max` bytes or `deadlineMs` passes before its end. */
function guardedBody(
  source: ReadableStream<Uint8Array>,
  max: number,
  deadlineMs: number | undefined,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let seen = 0;
  let over = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finish = (controller: ReadableStreamDefaultController<Uint8Array>, err?: Error) => {
    if (over) return;
    over = true;
    clearTimeout(timer);
    if (err) controller.error(err);
    else controller.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // The clock starts at the first read: a handler that never reads the
      // body (404, a refusal) leaves no timer behind for the deadline.
      if (deadlineMs !== undefined && timer === undefined && !over) {
        // Not cancelled on the engine: cancelling while a read is under way
        // leaves it holding the body (measured, Deno 2.9); the handler answers.
        timer = setTimeout(
          () =>
            finish(controller, new BodyTimedOut(`request body not received in ${deadlineMs} ms`)),
          deadlineMs,
        );
      }
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        return finish(controller, err as Error);
      }
      if (over) return;
      if (chunk.done) return finish(controller);
      seen += chunk.value.byteLength;
      if (seen > max) {
        finish(controller, new BodyTooLarge(`request body over ${max} bytes`));
        await reader.cancel().catch(() => {});
        return;
      }
      controller.enqueue(chunk.value);
    },
    async cancel(reason) {
      over = true;
      clearTimeout(timer);
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}
