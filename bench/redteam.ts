/**
 * Red-team harness (manual): starts Parley as a child process and runs
 * one named attack at a time through real sockets, sampling the server's
 * RSS and the time a fresh login takes while the attack runs.
 *   deno run -A bench/redteam.ts <attack> [seconds] [sqlite|memory]
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
  async sasl(port, until) {
    const c = await TestClient.connect({ port, directTls: true });
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

if (!(attack in attacks)) {
  console.log("attacks:", Object.keys(attacks).join(" "));
  Deno.exit(0);
}
const server = await startServerProcess({
  storage: driver === "sqlite" ? { driver: "sqlite", path: "parley.sqlite" } : { driver: "memory" },
});
const port = server.ports.c2s;
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
    warnings: server.log().split("\n").filter((l) => /WARN|ERROR|FATAL/i.test(l)).length,
    lastLog: server.log().split("\n").filter(Boolean).slice(-3).map((l) => l.slice(0, 200)),
  }));
} catch (e) {
  console.log("harness failed:", e);
} finally {
  await server.stop();
}
Deno.exit(0);
