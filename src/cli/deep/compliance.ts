/**
 * XEP-0479 (XMPP Compliance Suites 2023), the server columns: for each
 * category (Core, Web, IM, Mobile, A/V Calling) the rows required at the
 * Server and Advanced Server levels, and how the deep check knows a row is
 * met — a behaviour it exercised, or a disco/stream feature the server
 * advertises. Client columns are not assessed: they describe client
 * software. Every category other than Core also requires the Core
 * category at the same level (XEP-0479 §2.2-2.5).
 */
import type { Facts } from "./facts.ts";

export type Category = "Core" | "Web" | "IM" | "Mobile" | "A/V Calling";
export const CATEGORIES: Category[] = ["Core", "Web", "IM", "Mobile", "A/V Calling"];

export interface Requirement {
  category: Category;
  feature: string;
  providers: string;
  /** Required at the Server level (and therefore at Advanced Server too). */
  server: boolean;
  /** Whether the server meets it, and how that was learnt. */
  met(f: Facts): boolean;
  evidence: string;
}

const exercised = (what: string) => (f: Facts) => f.exercised.has(what);
const server = (ns: string) => (f: Facts) => f.serverFeatures.has(ns);
const account = (ns: string) => (f: Facts) => f.accountFeatures.has(ns);
const stream = (name: string, ns: string) => (f: Facts) => f.streamFeatures.has(`${name} ${ns}`);

export const REQUIREMENTS: Requirement[] = [
  // Core
  {
    category: "Core",
    feature: "Core features",
    providers: "RFC 6120",
    server: true,
    met: exercised("login"),
    evidence: "SASL login and resource binding",
  },
  {
    category: "Core",
    feature: "TLS",
    providers: "RFC 7590",
    server: true,
    met: exercised("starttls"),
    evidence: "STARTTLS with a verified certificate",
  },
  {
    category: "Core",
    feature: "Direct TLS",
    providers: "XEP-0368",
    server: false,
    met: exercised("direct-tls"),
    evidence: "a login on the direct TLS port",
  },
  {
    category: "Core",
    feature: "Feature discovery",
    providers: "XEP-0030",
    server: true,
    met: server("http://jabber.org/protocol/disco#info"),
    evidence: "disco#info of the domain",
  },
  {
    category: "Core",
    feature: "Feature broadcasts",
    providers: "XEP-0115",
    server: false,
    met: stream("c", "http://jabber.org/protocol/caps"),
    evidence: "caps in the stream features",
  },
  {
    category: "Core",
    feature: "Server Extensibility",
    providers: "XEP-0114",
    server: true,
    met: (f) => f.componentListener,
    evidence: "listeners.component is enabled (not exercised: needs a component secret)",
  },
  {
    category: "Core",
    feature: "Event publishing",
    providers: "XEP-0163",
    server: false,
    met: account("http://jabber.org/protocol/pubsub"),
    evidence: "PEP features on the account's disco#info",
  },
  // Web
  {
    category: "Web",
    feature: "Web Connection Mechanisms",
    providers: "RFC 7395, XEP-0206",
    server: true,
    met: (f) => f.exercised.has("websocket") && f.exercised.has("bosh"),
    evidence: "logins over WebSocket and over BOSH",
  },
  // IM
  {
    category: "IM",
    feature: "Core features",
    providers: "RFC 6121",
    server: true,
    met: (f) => f.exercised.has("roster") && f.exercised.has("message"),
    evidence: "roster set/get/remove and a message to self",
  },
  {
    category: "IM",
    feature: "User Avatar Compatibility",
    providers: "XEP-0398, XEP-0153",
    server: false,
    met: account("urn:xmpp:pep-vcard-conversion:0"),
    evidence: "urn:xmpp:pep-vcard-conversion:0 on the account",
  },
  {
    category: "IM",
    feature: "vcard-temp",
    providers: "XEP-0054",
    server: true,
    met: server("vcard-temp"),
    evidence: "vcard-temp on the domain",
  },
  {
    category: "IM",
    feature: "Outbound Message Synchronization",
    providers: "XEP-0280",
    server: true,
    met: exercised("carbons"),
    evidence: "a carbon copy received",
  },
  {
    category: "IM",
    feature: "User Blocking",
    providers: "XEP-0191",
    server: false,
    met: server("urn:xmpp:blocking"),
    evidence: "urn:xmpp:blocking on the domain",
  },
  {
    category: "IM",
    feature: "Group Chat",
    providers: "XEP-0045, XEP-0249",
    server: true,
    met: exercised("muc"),
    evidence: "a room joined, a message echoed",
  },
  {
    category: "IM",
    feature: "Advanced Group Chat",
    providers: "XEP-0048, XEP-0313, XEP-0402, XEP-0410",
    server: false,
    met: (f) =>
      f.serverFeatures.has("jabber:iq:private") &&
      (f.roomFeatures?.has("urn:xmpp:mam:2") ?? false) &&
      f.accountFeatures.has("urn:xmpp:bookmarks:1#compat") && f.mucService !== undefined &&
      (f.serviceFeatures[f.mucService]?.has(
        "http://jabber.org/protocol/muc#self-ping-optimization",
      ) ?? false),
    evidence: "private XML, room archive, bookmarks compat, MUC self-ping",
  },
  {
    category: "IM",
    feature: "Persistent Storage of Private Data via PubSub",
    providers: "XEP-0223",
    server: false,
    met: account("http://jabber.org/protocol/pubsub#publish-options"),
    evidence: "pubsub#publish-options on the account",
  },
  {
    category: "IM",
    feature: "Private XML Storage",
    providers: "XEP-0049",
    server: false,
    met: server("jabber:iq:private"),
    evidence: "jabber:iq:private on the domain",
  },
  {
    category: "IM",
    feature: "Stream Management",
    providers: "XEP-0198",
    server: false,
    met: stream("sm", "urn:xmpp:sm:3"),
    evidence: "sm in the stream features",
  },
  {
    category: "IM",
    feature: "History Storage / Retrieval",
    providers: "XEP-0313",
    server: false,
    met: exercised("mam"),
    evidence: "an archive query found the message",
  },
  {
    category: "IM",
    feature: "File Upload",
    providers: "XEP-0363",
    server: true,
    met: exercised("upload"),
    evidence: "a slot used for PUT and GET",
  },
  // Mobile
  {
    category: "Mobile",
    feature: "Stream Management",
    providers: "XEP-0198",
    server: true,
    met: stream("sm", "urn:xmpp:sm:3"),
    evidence: "sm in the stream features",
  },
  {
    category: "Mobile",
    feature: "Client State Indication",
    providers: "XEP-0352",
    server: true,
    met: stream("csi", "urn:xmpp:csi:0"),
    evidence: "csi in the stream features",
  },
  {
    category: "Mobile",
    feature: "Third Party Push Notifications",
    providers: "XEP-0357",
    server: false,
    met: account("urn:xmpp:push:0"),
    evidence: "urn:xmpp:push:0 on the account",
  },
  // A/V Calling
  {
    category: "A/V Calling",
    feature: "STUN/TURN server discovery",
    providers: "XEP-0215",
    server: true,
    met: server("urn:xmpp:extdisco:2"),
    evidence: "urn:xmpp:extdisco:2 on the domain",
  },
];

export type Level = "none" | "Server" | "Advanced Server";

export interface CategoryResult {
  category: Category;
  level: Level;
  /** What stands between this level and the next one (empty at Advanced Server). */
  missing: Requirement[];
}

function unmet(category: Category, advanced: boolean, f: Facts): Requirement[] {
  return REQUIREMENTS.filter((r) => r.category === category && (advanced || r.server) && !r.met(f));
}

export function assess(f: Facts): CategoryResult[] {
  return CATEGORIES.map((category) => {
    const core = (advanced: boolean) => category === "Core" ? [] : unmet("Core", advanced, f);
    const forServer = [...core(false), ...unmet(category, false, f)];
    if (forServer.length > 0) return { category, level: "none", missing: forServer };
    const forAdvanced = [...core(true), ...unmet(category, true, f)];
    if (forAdvanced.length > 0) return { category, level: "Server", missing: forAdvanced };
    return { category, level: "Advanced Server", missing: [] };
  });
}
