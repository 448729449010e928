/** A stored file's bytes as a response body: a range of it, read a chunk at a time. */

const CHUNK = 64 * 1024;

/** `length` bytes from `start` of the file at `path`; undefined when it is gone. */
export async function fileBody(
  path: string,
  start: number,
  length: number,
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
  const close = () => {
    if (closed) return;
    closed = true;
    file.close();
  };
  try {
    if (start > 0) await file.seek(start, Deno.SeekMode.Start);
  } catch (err) {
    close();
    throw err;
  }
  return new ReadableStream<Uint8Array>({
    type: "bytes",
    async pull(controller) {
      try {
        if (remaining <= 0) {
          close();
          controller.close();
          return;
        }
        const buf = new Uint8Array(Math.min(CHUNK, remaining));
        const n = await file.read(buf);
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
      }
    },
    cancel() {
      close();
    },
  });
}
