/**
 * Waiting for a process we started outside Deno's control (Prosody) to
 * listen: it says nothing we could read, so connect until it answers.
 */
import * as net from "node:net";

/** Connect to `host:port` every 100 ms until it accepts; throws after `ms`. */
export async function waitForPort(host: string, port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${host}:${port}`);
}
