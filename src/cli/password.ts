/**
 * New passwords for adduser/passwd: the first line of stdin when it is piped
 * (scripts), else typed twice at the terminal without echo.
 */
import { CommandFailure } from "./exit.ts";

const encoder = new TextEncoder();

export async function readNewPassword(options: { fromStdin?: boolean } = {}): Promise<string> {
  let password: string;
  if (options.fromStdin || !Deno.stdin.isTerminal()) {
    const line = await readFirstLine();
    if (line === undefined) throw new CommandFailure("no password on standard input");
    password = line;
  } else {
    password = await promptHidden("Password: ");
    if (password !== await promptHidden("Repeat password: ")) {
      throw new CommandFailure("the passwords do not match");
    }
  }
  if (password === "") throw new CommandFailure("the password is empty");
  return password;
}

/**
 * Reads with Deno.stdin.read rather than a stream reader so nothing stays
 * locked or pending after the first newline.
 */
async function readFirstLine(): Promise<string | undefined> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    const chunk = buf.slice(0, n);
    const newline = chunk.indexOf(0x0a);
    if (newline >= 0) {
      chunks.push(chunk.slice(0, newline));
      return decodeLine(chunks);
    }
    chunks.push(chunk);
  }
  return chunks.length === 0 ? undefined : decodeLine(chunks);
}

function decodeLine(chunks: Uint8Array[]): string {
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(bytes).replace(/\r$/, "");
}

/** Raw mode turns off echo; we then handle Enter, Backspace, Ctrl-C and Ctrl-D ourselves. */
async function promptHidden(prompt: string): Promise<string> {
  await Deno.stdout.write(encoder.encode(prompt));
  const bytes: number[] = [];
  const buf = new Uint8Array(64);
  Deno.stdin.setRaw(true);
  try {
    for (;;) {
      const n = await Deno.stdin.read(buf);
      if (n === null) throw new CommandFailure("no password entered");
      for (const byte of buf.subarray(0, n)) {
        if (byte === 0x0d || byte === 0x0a) return new TextDecoder().decode(new Uint8Array(bytes));
        if (byte === 0x03) throw new CommandFailure("cancelled");
        if (byte === 0x04 && bytes.length === 0) throw new CommandFailure("cancelled");
        if (byte === 0x7f || byte === 0x08) {
          // Drop one whole UTF-8 character: its continuation bytes, then its lead byte.
          while (bytes.length > 0 && (bytes[bytes.length - 1] & 0xc0) === 0x80) bytes.pop();
          bytes.pop();
        } else if (byte >= 0x20 || byte === 0x09) {
          bytes.push(byte);
        }
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stdout.write(encoder.encode("\n"));
  }
}
