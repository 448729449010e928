/**
 * A stored file's bytes as a response body: a range of it, read a chunk at
 * a time, until a deadline.
 */

const CHUNK = 64 * 1024;

export interface BodyDeadline {
  ms: number;
  /** Told once when the deadline cut the body short. */
  expired(sent: number): void;
}

/**
 * `length` bytes from `start` of the file at `path`; undefined when it is
 * gone. At `deadline.ms` the file is closed and the body ends where it is:
 * short of the Content-Length, which makes Deno drop the connection once it
 * gets there (a client that never reads keeps its connection, and its
 * place in `http.maxRequestsPerIp`, until it reads or leaves; the file no).
 */
export async function fileBody(
  path: string,
  start: number,
  length: number,
  deadline: BodyDeadline,
): Promise<ReadableStream<Uint8Array> | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  let remaining = length;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    file.close();
  };
  try {
    if (start > 0) await file.seek(start, Deno.SeekMode.Start);
  } catch (err) {
    close();
    throw err;
  }
  let reading = false;
  let expired = false;
  /** Ends the body short; only between reads (closing a file under a read fails the read). */
  const cut = (controller: { close(): void }) => {
    close();
    controller.close();
    deadline.expired(length - remaining);
  };
  return new ReadableStream<Uint8Array>({
    type: "bytes",
    start(controller) {
      timer = setTimeout(() => {
        if (closed) return;
        expired = true;
        if (!reading) cut(controller);
      }, deadline.ms);
    },
    async pull(controller) {
      if (closed) return;
      reading = true;
      try {
        if (remaining <= 0) {
          close();
          controller.close();
          return;
        }
        const buf = new Uint8Array(Math.min(CHUNK, remaining));
        const n = await file.read(buf);
        if (expired) return cut(controller);
        if (n === null) {
          // The file shrank under us (removed and replaced?): end here.
          close();
          controller.close();
          return;
        }
        remaining -= n;
        controller.enqueue(buf.subarray(0, n));
      } catch (err) {
        close();
        controller.error(err);
      } finally {
        reading = false;
      }
    },
    cancel() {
      close();
    },
  });
}
