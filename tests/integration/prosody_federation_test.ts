/**
 * Federation with a real Prosody: the scenario (tests/helpers/prosody_interop.ts)
 * runs in a private network namespace of its own (`unshare --net`, with a
 * PID namespace so nothing it started can outlive it), where Parley and
 * Prosody bind fixed addresses and ports and resolve each other's names
 * without touching anything on the machine: no other server's port, no
 * /etc/hosts, no other Prosody.
 *
 * Needs Debian's `prosody`, `unshare` (util-linux), `ip` (iproute2) and the
 * right to create a network namespace (root, or unprivileged user
 * namespaces); without them the test is skipped and says why. `.ci/run`
 * installs Prosody.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
// Imported for type-checking and so every module the child needs is cached
// before it starts in a namespace without network.
import type { Auth } from "../helpers/prosody_interop.ts";

const INTEROP = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "helpers",
  "prosody_interop.ts",
);
/** Both runs together take ~10 s; this only catches a hang. */
const RUN_LIMIT_MS = 180_000;

/**
 * A new network namespace (only a loopback, brought up here) and a PID
 * namespace whose init is the child: `--kill-child` ends it when unshare
 * ends, and the kernel ends everything else in it with its init. Not root:
 * a user namespace maps us to root inside it, where the kernel allows it.
 */
const UNSHARE = [
  "--net",
  "--pid",
  "--fork",
  "--kill-child",
  ...(Deno.uid() === 0 ? [] : ["--map-root-user"]),
];

function found(tool: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" })
    .outputSync().success;
}

function whyNot(): string | undefined {
  for (const tool of ["prosody", "prosodyctl"]) {
    if (!found(tool)) return "prosody is not installed (apt-get install prosody; .ci/run does it)";
  }
  if (!found("unshare")) return "unshare (util-linux) is not installed";
  if (!found("ip")) return "ip (iproute2) is not installed";
  const probe = new Deno.Command("unshare", {
    args: [...UNSHARE, "--", "ip", "link", "set", "lo", "up"],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!probe.success) {
    const why = new TextDecoder().decode(probe.stderr).trim();
    return `cannot create a private network namespace (needs root or user namespaces): ${why}`;
  }
  return undefined;
}

const skip = whyNot();
if (skip) console.log(`prosody federation test skipped: ${skip}`);

/** The scenario in its own namespaces; its output is the failure message. */
async function federateInNamespace(auth: Auth): Promise<void> {
  const child = new Deno.Command("unshare", {
    args: [
      ...UNSHARE,
      "--",
      "sh",
      "-c",
      'ip link set lo up && exec "$@"',
      "sh",
      Deno.execPath(),
      "run",
      "--allow-all",
      INTEROP,
      auth,
    ],
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), RUN_LIMIT_MS);
  });
  const output = child.output();
  const first = await Promise.race([output, timedOut]);
  clearTimeout(timer);
  if (first === "timeout") {
    // unshare by its PID; its --kill-child takes the namespace down with it.
    child.kill("SIGKILL");
  }
  const out = await output;
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.notEqual(first, "timeout", `still running after ${RUN_LIMIT_MS} ms:\n${text}`);
  assert.equal(out.code, 0, text);
  assert.match(text, new RegExp(`prosody federation \\(${auth}\\): ok`));
}

Deno.test({
  name: "prosody: messages, subscriptions and presence both ways with Prosody 0.12 (dialback)",
  ignore: skip !== undefined,
  fn: () => federateInNamespace("dialback"),
});

Deno.test({
  name: "prosody: the same with certificates from a test CA, SASL EXTERNAL both ways, required",
  ignore: skip !== undefined,
  fn: () => federateInNamespace("ca"),
});
