/**
 * Red-team harness (manual): starts Parley as a child process and runs
 * one named attack at a time through real sockets, sampling the server's
 * RSS and the time a fresh login takes while the attack runs.
 *   deno run -A bench/redteam.ts <attack> [seconds] [sqlite|memory]
 * RT_BURST=<bytes> sets c2s.readBurstBytes for the run.
 */
import { startServerProcess } from "../tests/helpers/server_process.ts";
import { TestClient } from "../tests/helpers/client.ts";

const [attack = "list", secondsArg = "8", driver = "sqlite"] = Deno.args;
const SECONDS = Number(secondsArg);

type Attack = (port: number, until: number) => Promise<string>;

let counter = 0;
const uid = () => `${Date.now().toString(36)}${(counter++).toString(36)}`;

async function user(
  port: number,
  name: string,
  resource?: string,
  presence: string | false = "<presence/>",
) {
  return await TestClient.login({
    port,
    user: name,
    password: "pw",
    resource,
    presence,
    mechanism: "PLAIN",
  });
}

/** Write stanzas as fast as the socket takes them, never reading the replies. */
async function pump(c: TestClient, until: number, make: (i: number) => string): Promise<number> {
  let i = 0;
  while (Date.now() < until && !c.closed && !c.socket.destroyed) {
    let batch = "";
    for (let k = 0; k < 50; k++) batch += make(i++);
    if (!c.socket.write(batch)) {
      await new Promise((r) => {
        c.socket.once("drain", r);
        setTimeout(r, 200);
      });
    }
    // The replies are dropped, so the client's own inbox does not grow.
    c.frames.length = 0;
  }
  return i;
}

const attacks: Record<string, Attack> = {
  async private(port, until) {
    const c = await user(port, "att");
    const n = await pump(
      c,
      until,
      (i) =>
        `<iq type='set' id='p${i}'><query xmlns='jabber:iq:private'><x xmlns='ns${i % 90}'>${
          "v".repeat(500)
        }</x></query></iq>`,
    );
    return `${n} private sets`;
  },
  async vcard(port, until) {
    const c = await user(port, "att");
    const n = await pump(
      c,
      until,
      (i) =>
        `<iq type='set' id='v${i}'><vCard xmlns='vcard-temp'><FN>${i}${
          "v".repeat(500)
        }</FN></vCard></iq>`,
    );
    return `${n} vcard sets`;
  },
  async roster(port, until) {
    const c = await user(port, "att");
    const n = await pump(
      c,
      until,
      (i) =>
        `<iq type='set' id='r${i}'><query xmlns='jabber:iq:roster'><item jid='c${
          i % 900
        }@localhost' name='${i}'/></query></iq>`,
    );
    return `${n} roster sets`;
  },
  async subscribe(port, until) {
    const victim = await user(port, "victim");
    const c = await user(port, "att");
    const n = await pump(
      c,
      until,
      () =>
        `<presence type='subscribe' to='victim@localhost'/><presence type='unsubscribe' to='victim@localhost'/>`,
    );
    victim.close();
    return `${n} subscribe/unsubscribe pairs`;
  },
  async offline(port, until) {
    // Victims logged in once (the insecure provider creates them), then gone.
    for (let v = 0; v < 20; v++) (await user(port, "off" + v)).close();
    const c = await user(port, "att");
    const body = "m".repeat(1000);
    const n = await pump(
      c,
      until,
      (i) => `<message type='chat' to='off${i % 20}@localhost'><body>${body}</body></message>`,
    );
    return `${n} offline messages`;
  },
  async blocking(port, until) {
    const c = await user(port, "att");
    const n = await pump(
      c,
      until,
      (i) =>
        i % 2 === 0
          ? `<iq type='set' id='b${i}'><block xmlns='urn:xmpp:blocking'><item jid='x${
            i % 500
          }@localhost'/></block></iq>`
          : `<iq type='set' id='b${i}'><unblock xmlns='urn:xmpp:blocking'><item jid='x${
            (i - 1) % 500
          }@localhost'/></unblock></iq>`,
    );
    return `${n} block/unblock`;
  },
  async pingnoread(port, until) {
    const c = await user(port, "att");
    c.stopReading();
    const n = await pump(
      c,
      until,
      (i) => `<iq type='get' id='q${i}'><ping xmlns='urn:xmpp:ping'/></iq>`,
    );
    return `${n} pings, closed=${c.socket.destroyed}`;
  },
  async disco(port, until) {
    const c = await user(port, "att");
    const n = await pump(
      c,
      until,
      (i) =>
        `<iq type='get' id='d${i}' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
    );
    return `${n} disco`;
  },
  async presence(port, until) {
    // att has N contacts (both), each online; att flips presence.
    const N = 40;
    const c = await user(port, "att");
    const contacts: TestClient[] = [];
    for (let i = 0; i < N; i++) {
      const k = await user(port, "k" + i);
      contacts.push(k);
      c.send(`<presence type='subscribe' to='k${i}@localhost'/>`);
      k.send(`<presence type='subscribed' to='att@localhost'/>`);
      k.send(`<presence type='subscribe' to='att@localhost'/>`);
      c.send(`<presence type='subscribed' to='k${i}@localhost'/>`);
    }
    await new Promise((r) => setTimeout(r, 1000));
    for (const k of contacts) k.stopReading();
    const n = await pump(
      c,
      until,
      (i) => `<presence><status>${i}${"s".repeat(200)}</status></presence>`,
    );
    const closed = contacts.filter((k) => k.socket.destroyed).length;
    return `${n} presence changes to ${N} contacts; contacts closed ${closed}`;
  },
  async resources(port, until) {
    const list: TestClient[] = [];
    let refused = "";
    for (let i = 0; i < 300 && Date.now() < until; i++) {
      try {
        list.push(await user(port, "att", "r" + i));
      } catch (e) {
        refused = String(e).slice(0, 120);
        break;
      }
    }
    return `${list.length} resources bound ${refused}`;
  },
  async restarts(port, until) {
    const c = await TestClient.connect({ port });
    await c.open();
    const n = await pump(
      c,
      until,
      () =>
        `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`,
    );
    return `${n} stream headers, closed=${c.socket.destroyed}`;
  },
  async sasl(_port, until) {
    const c = await TestClient.connect({ port: tlsPort, directTls: true });
    await c.open();
    const n = await pump(
      c,
      until,
      () =>
        `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>${
          btoa("n,,n=u" + uid() + ",r=abcdefghijklmnop")
        }</auth>`,
    );
    return `${n} SASL starts, closed=${c.socket.destroyed}`;
  },
  async whitespace(port, until) {
    const c = await user(port, "att");
    const n = await pump(c, until, () => " ".repeat(1000));
    return `${n} KB of whitespace`;
  },
  async tiny(port, until) {
    const c = await user(port, "att");
    const victim = await user(port, "victim");
    const n = await pump(
      c,
      until,
      (i) => `<message to='victim@localhost' type='chat'><body>${i}</body></message>`,
    );
    return `${n} tiny messages to online reader; victim got ${victim.frames.length} frames`;
  },
  async longjid(port, until) {
    const c = await user(port, "att");
    const n = await pump(
      c,
      until,
      (i) =>
        `<message to='${"a".repeat(1000)}${i}@${"b".repeat(1000)}.example/${
          "r".repeat(1000)
        }' type='chat'><body>x</body></message>`,
    );
    return `${n} long-jid messages`;
  },
};

Object.assign(attacks, {
  async deeppreauth(port: number, until: number) {
    const results: string[] = [];
    for (let round = 0; Date.now() < until; round++) {
      const c = await TestClient.connect({ port });
      await c.open();
      c.socket.write("<a>".repeat(80_000));
      const err = await c.streamError(3000).catch(() => "none");
      results.push(err);
      c.socket.destroy();
    }
    return `${results.length} rounds of 80 000 opening tags: ${[...new Set(results)].join(",")}`;
  },
  async deepstanza(port: number, until: number) {
    (await user(port, "off0")).close();
    const online = await user(port, "on0");
    const out: string[] = [];
    for (let round = 0; Date.now() < until; round++) {
      const c = await user(port, "att");
      const depth = round % 2 === 0 ? 6000 : 10000;
      const to = round % 2 === 0 ? "off0" : "on0";
      c.socket.write(
        `<message type='chat' to='${to}@localhost'><body>x</body>${"<a>".repeat(depth)}${
          "</a>".repeat(depth)
        }</message>`,
      );
      out.push(await c.streamError(3000).catch(() => "none"));
      c.socket.destroy();
    }
    online.close();
    return `${out.length} deep messages: ${[...new Set(out)].join(",")}`;
  },
  async slowreader(port: number, until: number) {
    const victim = await user(port, "victim");
    victim.stopReading();
    const senders = await Promise.all([0, 1, 2].map((i) => user(port, "s" + i)));
    const body = "m".repeat(4000);
    const n = await Promise.all(
      senders.map((c) =>
        pump(
          c,
          until,
          () => `<message type='chat' to='victim@localhost/'><body>${body}</body></message>`,
        )
      ),
    );
    return `${n.reduce((a, b) => a + b)} messages to a non-reader`;
  },
  async readrate(port: number, until: number) {
    const out: string[] = [];
    for (const directTls of [false, true]) {
      const c = await TestClient.connect({ port: directTls ? tlsPort : port, directTls });
      await c.open();
      if (!directTls) {
        await c.starttls();
        await c.open();
      }
      const half = (until - Date.now()) / (directTls ? 1 : 2);
      const stop = Date.now() + half;
      const start = Date.now();
      const sent = await pump(c, stop, () => " ".repeat(1024));
      const secs = (Date.now() - start) / 1000;
      out.push(
        `${directTls ? "direct TLS" : "STARTTLS"}: ${
          (sent / secs).toFixed(0)
        } KiB/s written (minus ~8 MiB kernel slack over ${secs.toFixed(0)} s)`,
      );
      c.socket.destroy();
    }
    return out.join("; ");
  },
  async idle(port: number, until: number) {
    const list: TestClient[] = [];
    const errors = new Map<string, number>();
    for (let i = 0; i < 150; i++) {
      try {
        const c = await TestClient.connect({ port });
        list.push(c);
        c.send(
          "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>",
        );
      } catch (e) {
        errors.set(String(e).slice(0, 40), (errors.get(String(e).slice(0, 40)) ?? 0) + 1);
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    let refused = 0;
    for (const c of list) {
      if (c.frames.some((f) => f.kind === "stanza" && f.element.name === "stream:error")) refused++;
    }
    const t = performance.now();
    const other = await TestClient.login({
      port,
      user: "other",
      password: "pw",
      mechanism: "PLAIN",
      localAddress: "127.0.0.2",
    }).then(() => `ok in ${Math.round(performance.now() - t)} ms`, (e) => "failed " + e);
    while (Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    for (const c of list) c.socket.destroy();
    return `150 idle from 127.0.0.1: ${refused} got a stream error; login from 127.0.0.2 ${other}`;
  },
  async hugeattr(port: number, until: number) {
    const c = await user(port, "att");
    const big = "a".repeat(200_000);
    const n = await pump(
      c,
      until,
      (i) =>
        i % 3 === 0
          ? `<message type='chat' to='${big}@localhost'><body>x</body></message>`
          : i % 3 === 1
          ? `<iq type='get' id='${big}' to='localhost'><nope xmlns='urn:x'/></iq>`
          : `<presence to='victim@localhost/${big}'><status>${
            big.slice(0, 50_000)
          }</status></presence>`,
    );
    return `${n} stanzas with 200 KB attributes, closed=${c.socket.destroyed}`;
  },
  async rostergroups(port: number, until: number) {
    // 8 resources (each under its own read rate) fill one roster with ~200 KB items.
    const rs = await Promise.all(
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => user(port, "att", "g" + i, false)),
    );
    let accepted = 0, refused = 0;
    await Promise.all(rs.map(async (c, r) => {
      for (let i = 0; Date.now() < until; i++) {
        const groups = Array.from(
          { length: 200 },
          (_, g) => `<group>${g}-${"g".repeat(990)}</group>`,
        ).join("");
        const id = `g${r}-${i}`;
        c.send(
          `<iq type='set' id='${id}'><query xmlns='jabber:iq:roster'><item jid='c${r}-${i}@x.example'>${groups}</item></query></iq>`,
        );
        const reply = await c.stanza((e) => e.attrs.id === id, 60_000).catch(() => undefined);
        if (reply?.attrs.type === "result") accepted++;
        else refused++;
        c.frames.length = 0;
      }
    }));
    return `${accepted} items of ~200 KB accepted, ${refused} refused`;
  },
  async endtag(port: number) {
    const out: string[] = [];
    for (const tag of ["</foo>", "</stream:foo>"]) {
      const c = await TestClient.connect({ port });
      await c.open();
      c.send(tag);
      out.push(tag + " → " + await c.streamError(3000).catch(() => "none"));
      c.socket.destroy();
    }
    return out.join("; ");
  },
});

if (!(attack in attacks)) {
  console.log("attacks:", Object.keys(attacks).join(" "));
  Deno.exit(0);
}
const server = await startServerProcess({
  ...(Deno.env.get("RT_BURST")
    ? { c2s: { readBurstBytes: Number(Deno.env.get("RT_BURST")) } }
    : {}),
  storage: driver === "sqlite" ? { driver: "sqlite", path: "parley.sqlite" } : { driver: "memory" },
});
const port = server.ports.c2s;
const tlsPort = server.ports.c2sDirectTls;
async function freshLogin(): Promise<number> {
  const t = performance.now();
  const c = await user(port, "probe" + uid());
  await c.stanza((e) => e.name === "presence").catch(() => {});
  const ms = performance.now() - t;
  c.close();
  return ms;
}
try {
  await freshLogin();
  const rss0 = await server.rssKb();
  const until = Date.now() + SECONDS * 1000;
  // This process's own event-loop lag: a slow login is the server's only if this stays low.
  let last = performance.now(), harnessLag = 0;
  const lagTimer = setInterval(() => {
    const now = performance.now();
    harnessLag = Math.max(harnessLag, now - last - 50);
    last = now;
  }, 50);
  // An idle user pinging the server every 100 ms: the server's responsiveness to others.
  const pinger = await user(port, "pinger" + uid());
  const rtts: number[] = [];
  const pinging = (async () => {
    for (let i = 0; Date.now() < until + 500; i++) {
      const t = performance.now();
      pinger.send(`<iq type='get' id='ping${i}'><ping xmlns='urn:xmpp:ping'/></iq>`);
      await pinger.stanza((e) => e.attrs.id === `ping${i}`, 30_000).catch(() => {});
      rtts.push(performance.now() - t);
      pinger.frames.length = 0;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const running = attacks[attack](port, until).catch((e) => "attack failed: " + e);
  const logins: number[] = [];
  let peak = rss0;
  const rssSamples: number[] = [];
  while (Date.now() < until + 500) {
    await new Promise((r) => setTimeout(r, 700));
    const ms = await freshLogin().catch(() => NaN);
    logins.push(Math.round(ms));
    const r = await server.rssKb();
    rssSamples.push(r >> 10);
    peak = Math.max(peak, r);
  }
  const summary = await running;
  await pinging;
  const series = rtts.map(Math.round);
  rtts.sort((a, b) => a - b);
  clearInterval(lagTimer);
  await new Promise((r) => setTimeout(r, 2000));
  const after = await server.rssKb();
  const fresh = await freshLogin().catch(() => NaN);
  console.log(JSON.stringify({
    attack,
    driver,
    summary,
    rssMB: { samples: rssSamples, before: rss0 >> 10, peak: peak >> 10, after2s: after >> 10 },
    loginMs: {
      max: Math.max(...logins.filter(Number.isFinite)),
      failed: logins.filter((x) => !Number.isFinite(x)).length,
      samples: logins,
      end: Math.round(fresh),
    },
    pingRttMs: {
      p50: Math.round(rtts[rtts.length >> 1]),
      p99: Math.round(rtts[Math.floor(rtts.length * 0.99)]),
      max: Math.round(rtts[rtts.length - 1]),
      first: series.slice(0, 12),
    },
    harnessLagMs: Math.round(harnessLag),
    overflowClosed: (server.log().match(/not reading|Too much output|output/gi) ?? []).length,
    warnings: server.log().split("\n").filter((l) => /WARN|ERROR|FATAL/i.test(l)).length,
    lastLog: server.log().split("\n").filter(Boolean).slice(-3).map((l) => l.slice(0, 200)),
  }));
} catch (e) {
  console.log("harness failed:", e);
} finally {
  await server.stop();
}
Deno.exit(0);
