/**
 * exportUser (src/cli/export_user.ts) on memory storage: the archive is
 * read in pages of ARCHIVE_PAGE (never all at once), every item comes out
 * in order, and stored text that would be markup stays text.
 */
import assert from "node:assert/strict";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { InternalAuthProvider } from "../../src/auth/internal_provider.ts";
import type { ArchiveQuery, ArchiveStore } from "../../src/storage/types.ts";
import {
  ARCHIVE_PAGE,
  DOCUMENT_END,
  DOCUMENT_START,
  exportUser,
  HOST_CLOSE,
  hostOpen,
} from "../../src/cli/export_user.ts";
import { parseElement } from "../../src/util/xml_fragment.ts";

Deno.test("exportUser: the archive in bounded pages, in order, escaped", async () => {
  const storage = new MemoryStorage();
  const auth = new InternalAuthProvider(storage, { iterations: 1 });
  await auth.createUser("example.org", "alice", "pw");
  const archive = storage.archive("example.org", "archive");
  const total = ARCHIVE_PAGE * 2 + 7;
  for (let i = 0; i < total; i++) {
    await archive.append("alice", {
      when: 1_000_000 + i,
      with: "bob@example.org",
      value: `<message to='bob@example.org' type='chat'><body>${i} &lt;/body&gt;</body></message>`,
    });
  }
  // Count what each query asks for: no query may ask for more than a page.
  const limits: (number | undefined)[] = [];
  const watched: ArchiveStore = {
    ...archive,
    find: (user: string, q?: ArchiveQuery) => {
      limits.push(q?.limit);
      return archive.find(user, q);
    },
  };
  const source = {
    storage: {
      ...storage,
      keyval: storage.keyval.bind(storage),
      map: storage.map.bind(storage),
      archive: (host: string, name: string) =>
        name === "archive" ? watched : storage.archive(host, name),
    } as unknown as MemoryStorage,
    auth,
  };
  let text = DOCUMENT_START + hostOpen("example.org");
  const counts = await exportUser(source, "example.org", "alice", (t) => {
    text += t;
    return Promise.resolve();
  });
  text += HOST_CLOSE + DOCUMENT_END;
  assert.equal(counts.archived, total);
  assert.deepEqual(await storage.keyval("example.org", "accounts").users!(), ["alice"]);
  assert.deepEqual(limits, [ARCHIVE_PAGE, ARCHIVE_PAGE, ARCHIVE_PAGE]);

  const doc = parseElement(text.replace(/^<\?xml[^>]*\?>\n/, "").trim())!;
  const user = doc.getChild("host")!.getChild("user")!;
  const bodies = user.getChild("archive", "urn:xmpp:pie:0#mam")!.getChildren("result").map((r) =>
    r.getChild("forwarded", "urn:xmpp:forward:0")!.getChild("message", "jabber:client")!
      .getChildText("body")
  );
  assert.equal(bodies.length, total);
  bodies.forEach((b, i) => assert.equal(b, `${i} </body>`));
  // Sections with nothing stored: an empty roster, no vCard, no PEP, no credentials.
  assert.deepEqual(user.getChild("query", "jabber:iq:roster")!.getChildren("item"), []);
  assert.equal(user.getChild("vCard", "vcard-temp"), undefined);
  assert.equal(user.getChild("scram-credentials", "urn:xmpp:pie:0#scram"), undefined);
  assert.deepEqual(user.getChild("offline-messages")!.getChildren(), []);
});

Deno.test("exportUser: an item removed by the running server between two pages does not end the export", async () => {
  const storage = new MemoryStorage();
  const auth = new InternalAuthProvider(storage, { iterations: 1 });
  await auth.createUser("example.org", "alice", "pw");
  const total = ARCHIVE_PAGE * 2 + 7;
  for (const store of ["archive", "offline"]) {
    const archive = storage.archive("example.org", store);
    for (let i = 0; i < total; i++) {
      await archive.append("alice", {
        // Two items per millisecond: a page may end inside one.
        when: 1_000_000 + Math.floor(i / 2),
        value: store === "archive"
          ? `<message type='chat'><body>${i}</body></message>`
          : { stanza: `<message type='chat'><body>${i}</body></message>` },
      });
    }
  }
  // Whenever a page has been written, the server removes its last item
  // (a retraction, an offline message delivered at a login).
  const removed: string[] = [];
  const watched = (name: string): ArchiveStore => {
    const archive = storage.archive("example.org", name);
    return {
      ...archive,
      find: async (user: string, q?: ArchiveQuery) => {
        const page = await archive.find(user, q);
        if (page.length === ARCHIVE_PAGE && q?.ids === undefined) {
          const last = page[page.length - 1].id;
          await archive.delete(user, { ids: [last] });
          removed.push(last);
        }
        return page;
      },
    };
  };
  const source = {
    storage: {
      ...storage,
      keyval: storage.keyval.bind(storage),
      map: storage.map.bind(storage),
      archive: (_host: string, name: string) => watched(name),
    } as unknown as MemoryStorage,
    auth,
  };
  let text = "";
  const counts = await exportUser(source, "example.org", "alice", (t) => {
    text += t;
    return Promise.resolve();
  });
  // Every item is written once (the removed ones were read before they went).
  assert.equal(counts.archived, total);
  assert.equal(counts.offlineMessages, total);
  for (let i = 0; i < total; i++) {
    assert.equal(text.split(`<body>${i}</body>`).length - 1, 2, `item ${i}`);
  }
  assert.equal(removed.length, 2);
});
