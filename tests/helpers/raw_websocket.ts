/**
 * A WebSocket client on a bare TCP socket, for tests a browser-like
 * WebSocket cannot do: one that sends and then never reads (its receive
 * window fills), and that sees the TCP end itself rather than a close
 * event. Only what those tests need: the upgrade, masked text frames out,
 * and reading everything until the connection ends.
 */
const encoder = new TextEncoder();

export class RawWebSocket {
  private constructor(readonly conn: Deno.TcpConn, readonly response: string) {}

  /** Upgrade on `path` with the `xmpp` subprotocol; rejects unless the answer is 101. */
  static async connect(port: number, path: string): Promise<RawWebSocket> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await writeAll(
      conn,
      encoder.encode(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Protocol: xmpp\r\n\r\n`,
      ),
    );
    // The 101 answer alone: read byte by byte up to the blank line, nothing past it.
    let head = "";
    const one = new Uint8Array(1);
    while (!head.endsWith("\r\n\r\n") && head.length < 4096) {
      const n = await conn.read(one);
      if (n === null) break;
      head += String.fromCharCode(one[0]);
    }
    if (!head.startsWith("HTTP/1.1 101")) {
      conn.close();
      throw new Error(`upgrade refused: ${head.split("\r\n")[0]}`);
    }
    return new RawWebSocket(conn, head);
  }

  /** One masked text message. */
  send(text: string): Promise<void> {
    const payload = encoder.encode(text);
    const len = payload.length;
    const header = len < 126
      ? [0x81, 0x80 | len]
      : len < 65536
      ? [0x81, 0x80 | 126, len >> 8, len & 0xff]
      : [
        0x81,
        0x80 | 127,
        0,
        0,
        0,
        0,
        len >>> 24,
        (len >> 16) & 0xff,
        (len >> 8) & 0xff,
        len & 0xff,
      ];
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const frame = new Uint8Array(header.length + 4 + len);
    frame.set(header);
    frame.set(mask, header.length);
    for (let i = 0; i < len; i++) frame[header.length + 4 + i] = payload[i] ^ mask[i & 3];
    return writeAll(this.conn, frame);
  }

  /**
   * Read (and drop) everything until the server ends the connection:
   * true when it did within `ms`, false when it was still open then.
   */
  async drainUntilEnd(ms: number): Promise<boolean> {
    const buf = new Uint8Array(64 * 1024);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((r) => timer = setTimeout(() => r(false), ms));
    const drain = (async () => {
      try {
        while (await this.conn.read(buf) !== null) { /* dropped */ }
      } catch {
        // Reset: ended as well.
      }
      return true;
    })();
    try {
      return await Promise.race([drain, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}
