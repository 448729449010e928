/**
 * `parley deluser` runs without modules, yet an account's HTTP uploads go
 * with it: the files uploaded over the real slot → PUT flow are removed
 * from the upload service's directory, other users' files stay, and a
 * config without the upload service leaves the directory alone.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runParley } from "../helpers/parley_process.ts";
import { login, put, requestSlot, slotOf, UPLOAD, uploadServer } from "../helpers/upload.ts";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "main.ts");

/** The upload ids in `dir` with their `.data` and `.json` files, by owner. */
async function filesByOwner(dir: string): Promise<Record<string, string[]>> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  const out: Record<string, string[]> = {};
  for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
    const id = name.slice(0, -5);
    const { owner } = JSON.parse(await Deno.readTextFile(join(dir, name)));
    (out[owner] ??= []).push(id);
    assert.ok(names.includes(`${id}.data`), `${id}.data beside its metadata`);
  }
  // No bytes without metadata either.
  for (const name of names.filter((n) => n.endsWith(".data"))) {
    assert.ok(names.includes(`${name.slice(0, -5)}.json`), `${name} has its metadata`);
  }
  return out;
}

Deno.test("parley deluser removes the account's uploads and only them", async () => {
  const server = await uploadServer({ storage: { driver: "sqlite" } });
  const dataDir = server.dataDir;
  try {
    const alice = await login(server);
    const bob = await login(server, "bob");
    for (
      const [client, name, body] of [[alice, "a1.txt", "aaa"], [alice, "a2.txt", "aa"], [
        bob,
        "b.txt",
        "bbb",
      ]] as const
    ) {
      const slot = slotOf(await requestSlot(client, { filename: name, size: body.length }));
      assert.equal((await put(server, slot.put, body)).status, 201);
    }
    // An unused slot of alice's: a reservation only, nothing on disk to remove.
    slotOf(await requestSlot(alice, { filename: "later.txt", size: 1 }));
    alice.close();
    bob.close();
    await server.close();

    const dir = join(dataDir, "uploads", UPLOAD);
    const before = await filesByOwner(dir);
    assert.equal(before["alice@localhost"]?.length, 2);
    assert.equal(before["bob@localhost"]?.length, 1);

    const config = join(dataDir, "deluser-config.json");
    const write = (extra: Record<string, unknown>) =>
      Deno.writeTextFile(
        config,
        JSON.stringify({
          hosts: ["localhost"],
          dataDir,
          storage: { driver: "sqlite" },
          ...extra,
        }),
      );
    await write({});
    const r = await runParley(MAIN, ["deluser", "alice@localhost", "-c", config], {
      cwd: dataDir,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await filesByOwner(dir), { "bob@localhost": before["bob@localhost"] });

    // Upload not served by this config: its files are not deluser's to touch.
    await write({ upload: { enabled: false } });
    const off = await runParley(MAIN, ["deluser", "bob@localhost", "-c", config], {
      cwd: dataDir,
    });
    assert.equal(off.code, 0, off.stderr);
    assert.deepEqual(await filesByOwner(dir), { "bob@localhost": before["bob@localhost"] });
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
