/**
 * `parley export -o FILE` writes FILE.partial and renames it: a
 * FILE.partial already there (an earlier run's, readable by others, or a
 * link to elsewhere) is replaced, never written through, so the export
 * (with --with-credentials, password-equivalent keys) is always 0600.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runParley } from "../helpers/parley_process.ts";

const MAIN = join(import.meta.dirname!, "..", "..", "main.ts");

Deno.test("parley export replaces a FILE.partial left behind, and the file is 0600", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-export-mode-" });
  try {
    const config = join(dir, "config.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        hosts: ["example.org"],
        dataDir: join(dir, "data"),
        storage: { driver: "sqlite" },
      }),
    );
    const run = (args: string[], stdin?: string) =>
      runParley(MAIN, [...args, "-c", config], { cwd: dir, stdin });
    const added = await run(["adduser", "alice@example.org", "--password-stdin"], "pw\n");
    assert.equal(added.code, 0, added.stderr);

    const file = join(dir, "alice.xml");
    const elsewhere = join(dir, "elsewhere.txt");
    await Deno.writeTextFile(elsewhere, "untouched");
    await Deno.symlink(elsewhere, file + ".partial");
    const linked = await run(["export", "alice@example.org", "--with-credentials", "-o", file]);
    assert.equal(linked.code, 0, linked.stderr);
    assert.equal(await Deno.readTextFile(elsewhere), "untouched");
    assert.equal((await Deno.lstat(file)).isFile, true);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);

    await Deno.remove(file);
    await Deno.writeTextFile(file + ".partial", "old", { mode: 0o644 });
    await Deno.chmod(file + ".partial", 0o644);
    const left = await run(["export", "alice@example.org", "--with-credentials", "-o", file]);
    assert.equal(left.code, 0, left.stderr);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.match(await Deno.readTextFile(file), /scram-credentials/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
