/**
 * A response body passed through unchanged, with a callback once it is
 * over: sent whole, failed, or dropped by the client (Deno cancels the
 * body of a response whose connection went). The server uses it to keep
 * a request counted as in progress while a large body streams, so a
 * client that stops reading cannot hold open files and streams past the
 * request limits.
 */
export function onBodyEnd(
  body: ReadableStream<Uint8Array>,
  ended: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let over = false;
  const end = () => {
    if (over) return;
    over = true;
    ended();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          end();
          controller.close();
        } else controller.enqueue(value);
      } catch (err) {
        end();
        controller.error(err);
      }
    },
    async cancel(reason) {
      end();
      await reader.cancel(reason).catch(() => {});
    },
    // Nothing read ahead: what the client has not taken stays in the source.
  }, { highWaterMark: 0 });
}
