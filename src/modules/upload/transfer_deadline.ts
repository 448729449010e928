/**
 * How long one upload or download may take: `upload.transferBaseSeconds`
 * plus its size at `upload.transferMinBytesPerSecond`. A PUT body that
 * trickles (a few bytes a minute) or a download nobody reads would
 * otherwise hold a slot, an open file and a connection for ever; a size
 * derived bound stays generous for a slow honest link (the default, 16 KiB/s,
 * is a weak mobile uplink) and still ends every transfer.
 */
import type { Config } from "../../config/schema.ts";

/** The PUT body did not arrive before its deadline. */
export class TransferTimedOut extends Error {
  override name = "TransferTimedOut";
}

/** Milliseconds `bytes` may take to transfer under `upload.*`. */
export function transferDeadlineMs(bytes: number, limits: Config["upload"]): number {
  return Math.ceil(
    (limits.transferBaseSeconds + bytes / limits.transferMinBytesPerSecond) * 1000,
  );
}

export interface TimedBody {
  body: ReadableStream<Uint8Array>;
  /** Bytes passed on so far (for the log line of a timeout). */
  readonly received: number;
  /** Stop the clock (the reader is done with the body, one way or another). */
  stop(): void;
  /**
   * After a timeout: settles once the read that was waiting on the client
   * is over (it sent more or left) and the request body is cancelled; never
   * without a timeout.
   */
  readonly settled: Promise<void>;
}

/**
 * `body` passed through unchanged until `ms` from now; then a pending or
 * later read fails with TransferTimedOut, and once the read that waited
 * on the client is over the request body is cancelled and `settled`
 * settles. Not at once: measured on Deno 2.9, cancelling a request body
 * while a read of it is under way leaves the engine holding it (and the
 * connection) past the answer; cancelled with no read under way, it lets
 * the connection end (see timeoutResponse).
 */
export function bodyWithDeadline(body: ReadableStream<Uint8Array>, ms: number): TimedBody {
  const reader = body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let over = false;
  let received = 0;
  /** The read of the request body under way, if any. */
  let inFlight: Promise<unknown> | undefined;
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => settle = resolve);
  const stop = () => {
    clearTimeout(timer);
    over = true;
  };
  const timed = new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setTimeout(() => {
        if (over) return;
        stop();
        controller.error(new TransferTimedOut(`request body not received within ${ms} ms`));
        const quiet = () => {};
        (inFlight ?? Promise.resolve()).then(quiet, quiet)
          .then(() => reader.cancel().catch(quiet))
          .then(settle);
      }, ms);
    },
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await (inFlight = reader.read());
      } catch (err) {
        // BodyTooLarge and the like: passed on as they are.
        if (!over) controller.error(err);
        stop();
        return;
      }
      if (over) return;
      if (chunk.done) {
        stop();
        controller.close();
      } else {
        received += chunk.value.byteLength;
        controller.enqueue(chunk.value);
      }
    },
    async cancel(reason) {
      stop();
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
  return {
    body: timed,
    get received() {
      return received;
    },
    stop,
    settled,
  };
}

/**
 * The 408 answer to a PUT that timed out. Measured on Deno 2.9: after an
 * answer to a request whose body was not read to its end, the engine
 * keeps reading (and dropping) that body for as long as the client sends,
 * `Connection: close` or not; the one way a handler has to end such a
 * connection, without the error Deno prints for a failing body, is a body
 * that ends short of its Content-Length, and only once no read of the
 * request body is under way. So: status, headers and text go at once,
 * the length names one byte more, and the body ends (short) once
 * `settled`. Until then the request stays counted (the upload route counts
 * requests until their body ends); the client has the answer meanwhile.
 */
export function timeoutResponse(
  settled: Promise<void>,
  headers: Record<string, string>,
): Response {
  const bytes = new TextEncoder().encode("Request body not received in time\n");
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
    },
    async pull(controller) {
      await settled;
      controller.close();
    },
  });
  return new Response(body, {
    status: 408,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      ...headers,
      connection: "close",
      "content-length": String(bytes.byteLength + 1),
    },
  });
}
