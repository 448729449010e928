/**
 * Measures how much of a flood a server took in: write `bytes` at once and,
 * after `ms`, see how much the socket still holds (what the server has not
 * read stays in our socket's buffer once the kernel's buffers are full).
 * Coarse on Deno 2.9: the socket writes its queued chunks as one batch and
 * counts them all until the batch is sent, so a server that keeps up shows
 * everything taken and one that does not, nothing.
 */
import type { Socket } from "node:net";

export interface FloodResult {
  /** Bytes the server accepted (read, or in kernel buffers on the way). */
  accepted: number;
  elapsedMs: number;
}

export async function flood(socket: Socket, bytes: number, ms: number): Promise<FloodResult> {
  const started = Date.now();
  // Whitespace between stanzas: valid at stream level, and costs the parser nothing.
  writeChunked(socket, bytes);
  await new Promise((r) => setTimeout(r, ms));
  return { accepted: bytes - socket.writableLength, elapsedMs: Date.now() - started };
}

/**
 * Loopback kernel buffers (the sender's send buffer plus the receiver's
 * receive buffer) take this much whatever the server does: measured at
 * ~4 MiB on Linux; twice that for headroom.
 */
export const KERNEL_SLACK = 8 * 1024 * 1024;

/** `bytes` of whitespace in 64 KiB writes, all queued at once. */
export function writeChunked(socket: Socket, bytes: number): void {
  const chunk = " ".repeat(CHUNK);
  for (let left = bytes; left > 0; left -= CHUNK) {
    socket.write(left >= CHUNK ? chunk : chunk.slice(0, left));
  }
}

const CHUNK = 64 * 1024;
