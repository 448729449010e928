/**
 * The benchmark's client side: TLS logins (STARTTLS, SCRAM-SHA-1 when
 * offered, else PLAIN over TLS), in-band registration (XEP-0077) and a
 * per-client stanza handler, on top of the integration tests' TestClient.
 * After login every frame goes to `onStanza` and none is queued, so 700
 * clients receiving thousands of presences keep no garbage.
 */
import { TestClient } from "../../tests/helpers/client.ts";
import type { Element } from "../../src/xml/element.ts";

export interface Target {
  host: string;
  port: number;
  domain: string;
}

const WAIT_MS = 30_000;

/** Run `fn` over `items` with at most `limit` in flight (bounded by the list). */
export async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function secured(t: Target): Promise<TestClient> {
  const c = await TestClient.connect({ port: t.port, address: t.host, domain: t.domain });
  await c.open();
  await c.starttls();
  await c.open();
  return c;
}

/** Register `user` (password "pw"); true if created, false if it existed. */
export async function register(t: Target, user: string): Promise<boolean> {
  const c = await secured(t);
  try {
    c.send(
      `<iq type='set' id='reg1'><query xmlns='jabber:iq:register'>` +
        `<username>${user}</username><password>pw</password></query></iq>`,
    );
    const r = await c.stanza((e) => e.name === "iq" && e.attrs.id === "reg1", WAIT_MS);
    if (r.attrs.type === "result") return true;
    if (r.toString().includes("conflict")) return false;
    throw new Error(`registering ${user}: ${r}`);
  } finally {
    c.close();
  }
}

export class BenchClient {
  onStanza: (e: Element) => void = () => {};
  #replies = new Map<string, (e: Element) => void>();
  #ids = 0;

  private constructor(readonly c: TestClient, readonly jid: string) {
    c.tap = (f) => {
      if (f.kind !== "stanza") return true;
      const e = f.element;
      const id = e.attrs.id;
      if (e.name === "iq" && id && (e.attrs.type === "result" || e.attrs.type === "error")) {
        const done = this.#replies.get(id);
        if (done) {
          this.#replies.delete(id);
          done(e);
          return true;
        }
      }
      this.onStanza(e);
      return true;
    };
  }

  /** Log in over TLS and bind; no presence sent yet. */
  static async login(t: Target, user: string, resource = "bench"): Promise<BenchClient> {
    const c = await secured(t);
    const mechs = c.mechanisms();
    const mech = mechs.includes("SCRAM-SHA-1") ? "SCRAM-SHA-1" : "PLAIN";
    const r = await c.auth(mech, user, "pw");
    if (r.name !== "success") throw new Error(`auth ${user}: ${r}`);
    await c.open();
    const b = await c.bind(resource);
    if (b.attrs.type !== "result") throw new Error(`bind ${user}: ${b}`);
    return new BenchClient(c, c.jid!);
  }

  send(xml: string): void {
    this.c.send(xml);
  }

  /** Send an iq (`ID` in `xml` is replaced by a fresh id) and wait for its answer. */
  iq(xml: string, ms = WAIT_MS): Promise<Element> {
    const id = `b${++this.#ids}`;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#replies.delete(id);
        reject(new Error(`iq ${id} of ${this.jid} timed out`));
      }, ms);
      this.#replies.set(id, (e) => {
        clearTimeout(t);
        resolve(e);
      });
      this.send(xml.replace("ID", id));
    });
  }

  /** Wait until `pred` sees a stanza (others still go to onStanza). */
  waitFor(pred: (e: Element) => boolean, ms = WAIT_MS): Promise<Element> {
    const prev = this.onStanza;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.onStanza = prev;
        reject(new Error(`${this.jid}: timed out waiting`));
      }, ms);
      this.onStanza = (e) => {
        if (pred(e)) {
          clearTimeout(t);
          this.onStanza = prev;
          resolve(e);
        } else prev(e);
      };
    });
  }

  close(): void {
    this.c.close();
  }
}
