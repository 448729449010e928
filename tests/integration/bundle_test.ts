/**
 * Issue 12 acceptance: "The bundle runs the CLI and serves from an empty
 * directory". `deno task bundle` builds dist/parley.js; a copy of that one
 * file, alone in a fresh directory, prints its version, creates an account
 * in SQLite storage there and serves it to a client logging in over TCP.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TestClient } from "../helpers/client.ts";
import { childConfig, runParley, startParleyServe } from "../helpers/parley_process.ts";
import { VERSION } from "../../src/version.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

Deno.test("the bundle runs the CLI and serves from an empty directory", async () => {
  const build = await new Deno.Command(Deno.execPath(), {
    args: ["task", "bundle"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));

  const dir = await Deno.makeTempDir({ prefix: "parley-bundle-" });
  try {
    await Deno.copyFile(join(ROOT, "dist", "parley.js"), join(dir, "parley.js"));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["parley.js"]);

    const version = await runParley("parley.js", ["--version"], { cwd: dir });
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, new RegExp(`^parley ${VERSION.replaceAll(".", "\\.")} \\(deno `));

    await Deno.writeTextFile(
      join(dir, "config.json"),
      JSON.stringify(childConfig(["localhost"], "data")),
    );
    // No --config: ./config.json is found in the working directory, as documented.
    const add = await runParley("parley.js", ["adduser", "alice@localhost"], {
      cwd: dir,
      stdin: "bundled secret\n",
    });
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /Created alice@localhost\./);

    const server = await startParleyServe("parley.js", [], { cwd: dir, waitFor: ["c2s"] });
    try {
      for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]) {
        const client = await TestClient.login({
          port: server.ports.c2s,
          user: "alice",
          password: "bundled secret",
          mechanism,
        });
        assert.match(client.jid ?? "", /^alice@localhost\//);
        client.close();
      }
    } finally {
      assert.equal(await server.stop(), 0, server.log());
    }
    // The SQLite checkpoint worker started inside the bundle (no source file beside it).
    assert.doesNotMatch(server.log(), /checkpointer stopped|WAL checkpoint failed/);
    assert.ok((await Deno.stat(join(dir, "data", "parley.sqlite"))).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
