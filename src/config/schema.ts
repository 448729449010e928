/**
 * The configuration schema. Every key is documented in
 * `config.example.json`; unknown keys are errors (strict objects) so a
 * typo stops start-up instead of being silently ignored.
 */
import { z } from "zod";
import { MAX_STANZA_DEPTH, RELAY_DEPTH_ALLOWANCE } from "../xml/parser.ts";

/**
 * Modules every host loads unless the config says otherwise. Only names
 * that exist: the loader refuses unknown ones.
 */
export const DEFAULT_MODULES = [
  "ping",
  "blocking",
  "roster",
  "presence",
  "register",
  "adhoc",
  "disco",
  "offline",
  "vcard",
  "private",
  "version",
  "time",
  "last",
  "component",
  "s2s",
  "stream_management",
  "carbons",
  "csi",
  "fast",
  "push",
  "mam",
  "external_services",
  "pep",
];

const port = z.number().int().min(0).max(65535);

interface ListenerSettings {
  /** Addresses to bind; "::" and "0.0.0.0" for every interface. */
  interfaces: string[];
  port: number;
  enabled: boolean;
}

const ALL_INTERFACES = ["0.0.0.0", "::"];

/** Each listener's defaults, per key: a partial object keeps the rest (component: loopback). */
const LISTENER_DEFAULTS = {
  c2s: { interfaces: ALL_INTERFACES, port: 5222, enabled: true },
  c2sDirectTls: { interfaces: ALL_INTERFACES, port: 5223, enabled: true },
  s2s: { interfaces: ALL_INTERFACES, port: 5269, enabled: true },
  s2sDirectTls: { interfaces: ALL_INTERFACES, port: 5270, enabled: false },
  component: { interfaces: ["127.0.0.1", "::1"], port: 5347, enabled: true },
  http: { interfaces: ["127.0.0.1"], port: 5280, enabled: true },
  https: { interfaces: ALL_INTERFACES, port: 5281, enabled: true },
} satisfies Record<string, ListenerSettings>;

function listener(defaults: ListenerSettings) {
  return z.strictObject({
    interfaces: z.array(z.string()).min(1).default(defaults.interfaces),
    port: port.default(defaults.port),
    enabled: z.boolean().default(defaults.enabled),
  }).default(defaults);
}

/**
 * The limits of a stream that relays many users' traffic (a peer server, a
 * component): larger read rate and output mark than a client's, and
 * RELAY_DEPTH_ALLOWANCE more levels of nesting for what servers wrap
 * around a client's stanza (carbons, MAM: 2 levels each), since refusing
 * it would tear down the link for every user behind it.
 */
const relayLimits = {
  /** Connections from one IP address (IPv6: one /64), authenticated or not. */
  maxConnectionsPerIp: z.number().int().min(1).default(1000),
  /** Connections from one IP address (IPv6: one /64) that have not authenticated yet. */
  maxUnauthenticatedPerIp: z.number().int().min(1).default(10),
  /** Largest stanza accepted, in characters as decoded (as c2s.maxStanzaSize). */
  maxStanzaSize: z.number().int().min(1024).default(262144),
  /** Deepest element nesting accepted in a stanza: the client default plus 8. */
  maxStanzaDepth: z.number().int().min(8).max(MAX_STANZA_DEPTH + RELAY_DEPTH_ALLOWANCE)
    .default(32 + RELAY_DEPTH_ALLOWANCE),
  /** Seconds a connection may take to authenticate. */
  authTimeoutSeconds: z.number().positive().default(60),
  /** Sustained read rate per connection, bytes per second (0 = unlimited). */
  readRateBytesPerSecond: z.number().int().min(0).default(1024 * 1024),
  /** Burst allowance for the read rate, bytes. */
  readBurstBytes: z.number().int().min(0).default(4 * 1024 * 1024),
  /** Output waiting for a peer that does not read, past which its stream is closed. */
  maxOutputBytes: z.number().int().min(65536).default(8 * 1024 * 1024),
};

const tlsFiles = z.strictObject({
  /** PEM certificate chain. */
  certificate: z.string(),
  /** PEM private key. */
  key: z.string(),
});

const vhost = z.strictObject({
  domain: z.string().min(1),
  /** Per-host certificate; default: the global `tls` pair or a generated one. */
  tls: tlsFiles.optional(),
  /** Extra modules for this host, on top of the global list. */
  modules: z.array(z.string()).default([]),
  /** Global modules this host does not load. */
  disabledModules: z.array(z.string()).default([]),
  admins: z.array(z.string()).default([]),
});

/** One STUN/TURN service (XEP-0215 `<service/>`). */
const externalService = z.strictObject({
  /** "stun", "turn", "stuns" or "turns" (XEP-0215 §3.1 names these; others pass as is). */
  type: z.string().min(1),
  host: z.string().min(1),
  port: port.optional(),
  transport: z.enum(["udp", "tcp"]).optional(),
  /** A human-readable name. */
  name: z.string().optional(),
  /**
   * The TURN server's shared secret (coturn `use-auth-secret`): each user
   * gets temporary credentials made from it (the REST API scheme).
   */
  secret: z.string().min(1).optional(),
  /** Fixed credentials instead of a secret. */
  username: z.string().optional(),
  password: z.string().optional(),
});

const throttle = z.strictObject({
  /** Failures allowed within `windowSeconds` before further attempts are refused. */
  maxFailures: z.number().int().min(1),
  windowSeconds: z.number().positive(),
});

export const configSchema = z.strictObject({
  /** Hosted domains: names, or objects for per-host settings. */
  hosts: z.array(z.union([z.string().min(1), vhost])).min(1).default(["localhost"]),
  /** Where SQLite data and generated certificates live. */
  dataDir: z.string().default("./data"),
  listeners: z.strictObject({
    /** Client-to-server with STARTTLS (RFC 6120). */
    c2s: listener(LISTENER_DEFAULTS.c2s),
    /** Client-to-server with direct TLS (XEP-0368). */
    c2sDirectTls: listener(LISTENER_DEFAULTS.c2sDirectTls),
    /** Server-to-server with STARTTLS (RFC 6120). */
    s2s: listener(LISTENER_DEFAULTS.s2s),
    /** Server-to-server with direct TLS (XEP-0368). */
    s2sDirectTls: listener(LISTENER_DEFAULTS.s2sDirectTls),
    /** External components (XEP-0114); only opened when `components` names one. */
    component: listener(LISTENER_DEFAULTS.component),
    /** Plain HTTP (WebSocket, BOSH, host-meta), loopback: for use behind a reverse proxy. */
    http: listener(LISTENER_DEFAULTS.http),
    /** HTTPS with the hosts' certificates, chosen by SNI. */
    https: listener(LISTENER_DEFAULTS.https),
  }).default(LISTENER_DEFAULTS),
  /** Certificate for every host without its own; generated (self-signed) when absent. */
  tls: tlsFiles.optional(),
  c2s: z.strictObject({
    /**
     * Allow authentication on unencrypted connections. Only for loopback
     * test deployments: passwords then cross the wire in the clear.
     */
    allowUnencrypted: z.boolean().default(false),
    /** Allow SASL PLAIN without TLS (needs allowUnencrypted too). */
    allowPlainWithoutTls: z.boolean().default(false),
    /** RFC 6120 §7.7.2.2: "replace" the old session, or "reject" the new binding. */
    resourceConflict: z.enum(["replace", "reject"]).default("replace"),
    /** Offer the legacy `<session/>` feature (RFC 3921) for old clients. */
    legacySession: z.boolean().default(true),
    /**
     * Largest stanza accepted, counted in characters as decoded (UTF-16
     * code units): bytes for ASCII, up to 3 bytes each for other text.
     */
    maxStanzaSize: z.number().int().min(1024).default(262144),
    /**
     * Deepest element nesting accepted in a stanza: the stanza itself is
     * depth 1.
     */
    maxStanzaDepth: z.number().int().min(8).max(MAX_STANZA_DEPTH).default(32),
    /** Seconds a connection may take to authenticate and bind. */
    authTimeoutSeconds: z.number().positive().default(60),
    /** Client connections at once, over both client listeners. */
    maxConnections: z.number().int().min(1).default(10000),
    /**
     * Concurrent connections from one IP address (IPv6: one /64), authenticated or not
     * (high: many users may share one address behind NAT).
     */
    maxConnectionsPerIp: z.number().int().min(1).default(1000),
    /** Client connections from one IP address (IPv6: one /64) that have not authenticated yet. */
    maxUnauthenticatedPerIp: z.number().int().min(1).default(10),
    /** Sustained read rate per connection, bytes per second (0 = unlimited). */
    readRateBytesPerSecond: z.number().int().min(0).default(256 * 1024),
    /** Burst allowance for the read rate, bytes. */
    readBurstBytes: z.number().int().min(0).default(1024 * 1024),
    /**
     * Output waiting for a client that does not read (bytes for ASCII) past
     * which its stream is closed and its undelivered messages go offline.
     */
    maxOutputBytes: z.number().int().min(65536).default(2 * 1024 * 1024),
  }).default({
    allowUnencrypted: false,
    allowPlainWithoutTls: false,
    resourceConflict: "replace",
    legacySession: true,
    maxStanzaSize: 262144,
    maxStanzaDepth: 32,
    authTimeoutSeconds: 60,
    maxConnections: 10000,
    maxConnectionsPerIp: 1000,
    maxUnauthenticatedPerIp: 10,
    readRateBytesPerSecond: 256 * 1024,
    readBurstBytes: 1024 * 1024,
    maxOutputBytes: 2 * 1024 * 1024,
  }),
  /** XMPP over WebSocket (RFC 7395) at `/xmpp-websocket` on the HTTP listeners. */
  websocket: z.strictObject({
    /**
     * Origins (`https://chat.example`) whose web pages may open a
     * WebSocket session, besides pages from the requested host itself and
     * clients that send no Origin (not browsers); "*" allows any.
     */
    allowedOrigins: z.array(z.string()).default([]),
  }).prefault({}),
  auth: z.strictObject({
    /**
     * "internal": SCRAM salted keys in storage. "insecure": accepts any
     * password and creates accounts on first login; test deployments only.
     */
    provider: z.enum(["internal", "insecure"]).default("internal"),
    /** PBKDF2 iterations for newly stored SCRAM keys. */
    scramIterations: z.number().int().min(4096).default(4096),
    /** Failed logins from one client address (an IPv6 /64), whatever the accounts. */
    perIp: throttle.default({ maxFailures: 10, windowSeconds: 60 }),
    /**
     * Failed logins to one account from one address: only that address is
     * then refused for the account, so nobody can lock its owner out.
     */
    perIpAndAccount: throttle.default({ maxFailures: 5, windowSeconds: 60 }),
    /**
     * Failed logins to one account from all addresses together: a ceiling
     * for guessing spread over many addresses, far above `perIpAndAccount`.
     */
    perAccount: throttle.default({ maxFailures: 100, windowSeconds: 60 }),
  }).default({
    provider: "internal",
    scramIterations: 4096,
    perIp: { maxFailures: 10, windowSeconds: 60 },
    perIpAndAccount: { maxFailures: 5, windowSeconds: 60 },
    perAccount: { maxFailures: 100, windowSeconds: 60 },
  }),
  storage: z.strictObject({
    driver: z.enum(["sqlite", "memory"]).default("sqlite"),
    /** SQLite file; relative paths are inside dataDir. */
    path: z.string().default("parley.sqlite"),
    /**
     * SQLite group commit: under load, writes are committed at most this
     * often (milliseconds) instead of after every event-loop turn; a crash
     * of the process can lose that much of acknowledged writes. 0: commit
     * after every turn.
     */
    commitIntervalMs: z.number().int().min(0).max(1000).default(20),
  }).default({ driver: "sqlite", path: "parley.sqlite", commitIntervalMs: 20 }),
  log: z.strictObject({
    level: z.enum(["trace", "debug", "info", "warning", "error", "fatal"]).default("info"),
    format: z.enum(["text", "json"]).default("text"),
    /** Per-category levels, e.g. { "c2s": "debug" }. */
    categories: z.record(
      z.string(),
      z.enum(["trace", "debug", "info", "warning", "error", "fatal"]),
    ).default({}),
  }).default({ level: "info", format: "text", categories: {} }),
  /** Modules loaded on every host. */
  modules: z.array(z.string()).default(DEFAULT_MODULES),
  /** JIDs with admin rights on every host. */
  admins: z.array(z.string()).default([]),
  roster: z.strictObject({
    /**
     * Items one roster may hold (RFC 6121 §2.5.2 lets a server cap it); also
     * the addresses one resource's directed presence may stand at (§4.6).
     */
    maxItems: z.number().int().min(1).default(1000),
  }).prefault({}),
  offline: z.strictObject({
    /** Messages stored per user while offline (XEP-0160); more are bounced. */
    maxMessages: z.number().int().min(0).default(1000),
    /**
     * Of those, messages from one sender (bare JID): one user flooding an
     * absent one must not fill the box and bounce everybody else's messages.
     */
    maxMessagesPerSender: z.number().int().min(0).default(200),
    /**
     * Bytes one user's stored messages may take (their serialized stanzas):
     * each may be up to c2s.maxStanzaSize, so the count alone let one box
     * reach hundreds of MB. 10 MiB holds the full 1000 messages at 10 KiB
     * each; a chat message with an XHTML or OMEMO payload takes a few KiB.
     */
    maxBytes: z.number().int().min(0).default(10 * 1024 * 1024),
    /**
     * Of those, bytes from one sender: the byte limit is the same shared
     * space as the count, and 40 messages of 256 KiB from one sender
     * would fill it. A fifth, as maxMessagesPerSender is of maxMessages.
     */
    maxBytesPerSender: z.number().int().min(0).default(2 * 1024 * 1024),
    /**
     * Of maxMessages and maxBytes, the percentage all senders at one domain
     * this server does not host (a remote server, a component) may hold
     * together: such a domain may send as any user of it, and a handful of
     * made-up senders, each within its share, would fill the box.
     */
    maxPercentPerOtherDomain: z.number().int().min(0).max(100).default(50),
  }).prefault({}),
  /** Message archive (XEP-0313), module `mam`: see docs/archive.md. */
  mam: z.strictObject({
    /**
     * Archiving for users who set no preference (XEP-0441): "always" (every
     * eligible message, as Prosody's default), "roster" (only with contacts
     * in the roster) or "never".
     */
    default: z.enum(["always", "roster", "never"]).default("always"),
    /** Results per page when the client names no RSM max. */
    defaultPageSize: z.number().int().min(1).default(50),
    /** Most results per page whatever the client asks (and most ids in one query). */
    maxPageSize: z.number().int().min(1).max(10000).default(250),
    /**
     * Days archived messages are kept (fractions allowed); 0 keeps them for
     * ever. A week, as Prosody: enough for every device to catch up, and
     * the server keeps no more of a user's conversations than that needs.
     */
    retentionDays: z.number().min(0).default(7),
    /**
     * Archived messages one user may have; past it messages are delivered
     * but not archived (a peer must not fill the disk within the retention
     * period). 0: no cap.
     */
    maxMessagesPerUser: z.number().int().min(0).default(100000),
  }).prefault({}),
  /**
   * Multi-user chat (XEP-0045) on a service host per hosted domain: the
   * service itself and the limits and policies of the `muc` module.
   */
  muc: z.strictObject({
    /** Serve it (on every hosted domain). */
    enabled: z.boolean().default(true),
    /** The service domain; `{domain}` stands for each hosted domain. */
    domain: z.string().min(1).default("conference.{domain}"),
    /**
     * Who may create rooms: "local" (users of the service's parent domain),
     * "admins" (the host's admins only) or "anyone" (remote users too).
     * Admins may always, and act as owners of every room.
     */
    create: z.enum(["local", "admins", "anyone"]).default("local"),
    /** Rooms the service holds (persistent and temporary); more are refused. */
    maxRooms: z.number().int().min(1).default(10000),
    /**
     * Rooms one user may own (persistent and temporary); creating more is
     * refused. Admins are exempt. 0: no cap.
     */
    maxRoomsPerUser: z.number().int().min(0).default(100),
    /** Occupants per room, whatever its configuration says (admins and owners may exceed it). */
    maxOccupants: z.number().int().min(1).default(1000),
    /**
     * Sessions (real full JIDs) one occupant may join with under one nick
     * (XEP-0045 §7.2.1 multi-session nicks); past it a join is
     * `resource-constraint`. Each session gets every message and presence
     * of the room, and a remote server may make up resources at will.
     */
    maxSessionsPerOccupant: z.number().int().min(1).default(32),
    /** Most messages a room may send as history on join. */
    maxHistoryMessages: z.number().int().min(0).default(50),
    /** History on join of a new room (its owner may change it up to the maximum). */
    defaultHistoryMessages: z.number().int().min(0).default(20),
    /** Longest nick, in characters. */
    maxNickLength: z.number().int().min(1).max(1023).default(64),
    /**
     * A user with a reserved nick (room registration) may join a room and
     * change nick only under that nick (`not-acceptable` otherwise). A nick
     * reserved by someone else is refused (`conflict`) either way.
     */
    enforceReservedNicks: z.boolean().default(false),
    /** Affiliations (with reserved nicks) per room. */
    maxAffiliations: z.number().int().min(1).default(10000),
    /** Messages kept in a room's archive (older ones are cut); 0: no cap. */
    maxArchivedPerRoom: z.number().int().min(0).default(100000),
    /** Messages (groupchat and private) per second one occupant may send; 0: no limit. */
    messagesPerSecond: z.number().min(0).default(10),
    /** Messages an occupant may send in a burst above that rate. */
    messageBurst: z.number().int().min(1).default(30),
  }).prefault({}),
  ping: z.strictObject({
    /** Ping a client silent for this long (XEP-0199); 0 disables it. */
    idleSeconds: z.number().int().min(0).default(300),
    /** Close the stream when the ping is not answered within this time. */
    timeoutSeconds: z.number().int().min(1).default(60),
  }).prefault({}),
  /** Stream management (XEP-0198): acks and resumption of c2s streams. */
  sm: z.strictObject({
    /** Ask the client for an ack once this many stanzas sent to it are unacknowledged. */
    requestAckEvery: z.number().int().min(1).default(5),
    /**
     * Ask again when the oldest unacknowledged stanza is this old (seconds,
     * fractions allowed; 0: only by count), even with a request outstanding.
     */
    requestAckSeconds: z.number().min(0).default(30),
    /**
     * How long a session whose connection dropped waits to be resumed
     * (seconds, fractions allowed) when the client names no `max`; 0 turns
     * resumption off (acks still work).
     */
    resumeTimeoutSeconds: z.number().min(0).default(300),
    /** The most a client's `max` may ask for (seconds). */
    maxResumeTimeoutSeconds: z.number().min(0).default(3600),
    /**
     * Stanzas kept for one session until acknowledged (connected or
     * waiting to be resumed); past it the session ends and its messages go
     * to offline storage.
     */
    maxUnackedStanzas: z.number().int().min(1).default(500),
  }).prefault({}),
  /** Client state indication (XEP-0352): what an inactive client's session holds back. */
  csi: z.strictObject({
    /**
     * Stanzas held for one inactive client (presence updates, chat states,
     * receipts…, after de-duplication); one more sends them all at once.
     */
    maxHeld: z.number().int().min(1).default(100),
  }).prefault({}),
  /** FAST (XEP-0484): reconnection tokens per client installation, loaded by the `fast` module. */
  fast: z.strictObject({
    /** Days a token stays valid after it is issued; the client gets a new one at each login. */
    tokenDays: z.number().int().min(1).max(365).default(14),
  }).prefault({}),
  /** Push notifications (XEP-0357) to the app servers of users whose clients sleep. */
  push: z.strictObject({
    /** Registrations (app server JID and node) one user may have; enabling more is refused. */
    maxRegistrations: z.number().int().min(1).default(10),
    /**
     * At most one notification per user this often (seconds, fractions
     * allowed; 0: one per message); messages in between are summed up in
     * one notification sent when the interval ends.
     */
    minIntervalSeconds: z.number().min(0).default(10),
    /**
     * Include the message body when the registration asked for it
     * (`include-body`, see docs); false never sends bodies to app servers.
     */
    allowBody: z.boolean().default(true),
  }).prefault({}),
  vcard: z.strictObject({
    /** Largest vCard (XEP-0054) stored, in bytes. */
    maxBytes: z.number().int().min(1024).default(65536),
  }).prefault({}),
  privateStorage: z.strictObject({
    /** Largest private XML item (XEP-0049), in bytes. */
    maxBytes: z.number().int().min(1024).default(65536),
    /** Distinct items (namespaces) one user may store. */
    maxItems: z.number().int().min(1).default(100),
  }).prefault({}),
  pep: z.strictObject({
    /** Nodes one account may have (XEP-0163 personal eventing). */
    maxNodes: z.number().int().min(1).default(100),
    /** Largest max_items a node may have; what `max_items=max` means. */
    maxItemsPerNode: z.number().int().min(1).default(256),
    /** Largest published item payload, in bytes. */
    maxItemBytes: z.number().int().min(1024).default(262144),
    /** Bytes all of one account's items may take together (a quota on storage). */
    maxBytesPerAccount: z.number().int().min(1024).default(10485760),
    /** Entity-capabilities versions (XEP-0115) whose features are remembered. */
    capsCacheSize: z.number().int().min(1).default(10000),
    /** disco#info queries for unknown caps in flight at once; more are not asked. */
    maxPendingCapsQueries: z.number().int().min(1).default(100),
    /** How long a caps query waits for its answer, in milliseconds. */
    capsQueryTimeoutMs: z.number().int().min(100).default(10000),
  }).prefault({}),
  blocking: z.strictObject({
    /** JIDs one user may block (XEP-0191). */
    maxItems: z.number().int().min(1).default(1000),
  }).prefault({}),
  registration: z.strictObject({
    /** In-band registration (XEP-0077) of new accounts; off by default. */
    enabled: z.boolean().default(false),
    /** Accounts one IP address (an IPv6 /64 counts as one) may register per window. */
    maxPerIp: z.number().int().min(1).default(3),
    windowSeconds: z.number().positive().default(3600),
  }).prefault({}),
  /** Invitations (module `invites`: XEP-0401, XEP-0379, XEP-0445). */
  invites: z.strictObject({
    /** Users (not only admins) may create invites by ad-hoc command (`urn:xmpp:invite#invite`). */
    allowUsers: z.boolean().default(false),
    /** How long a new invite stays valid, in seconds (default 7 days). */
    ttlSeconds: z.number().int().min(60).default(604800),
    /** Most registrations one invite may allow (`--uses`, the admin command's field). */
    maxUses: z.number().int().min(1).default(100),
    /**
     * Where people reach the landing page (no trailing slash), e.g.
     * "https://chat.example.net" behind a reverse proxy; `/invite/<token>`
     * is appended. Default: `https://<domain>:<https port>`.
     */
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** Wrong tokens and landing-page registrations one IP address (an IPv6 /64) may try per window. */
    maxAttemptsPerIp: z.number().int().min(1).default(10),
    windowSeconds: z.number().positive().default(3600),
  }).prefault({}),
  accounts: z.strictObject({
    /**
     * Days a deleted account's name stays reserved (its tombstone), so that
     * nobody new inherits the trust its contacts gave it; 0 keeps none.
     * Fractions are allowed. ejabberd keeps 365 days, Prosody forever.
     */
    tombstoneDays: z.number().min(0).default(365),
  }).prefault({}),
  s2s: z.strictObject({
    /** Federate with other domains at all. */
    enabled: z.boolean().default(true),
    /**
     * Static routes, domain → "host:port", used instead of DNS (SRV, then
     * A/AAAA on 5269). For closed federations and tests.
     */
    hosts: z.record(z.string(), z.string()).default({}),
    /** Refuse peers that will not encrypt (RFC 6120 §5; default on). */
    requireEncryption: z.boolean().default(true),
    /**
     * Refuse peers whose certificate does not validate for their domain; dialback
     * then only for domains their certificate covers (XEP-0344).
     */
    requireValidCertificates: z.boolean().default(false),
    /** Allow Server Dialback (XEP-0220) when a certificate does not validate. */
    allowDialback: z.boolean().default(true),
    /** Extra CA certificates (PEM file) trusted for peers, besides the system store. */
    caFile: z.string().optional(),
    /** Close an s2s connection idle this long. */
    idleTimeoutSeconds: z.number().int().min(1).default(600),
    /** Give up connecting (and bounce queued stanzas), or waiting for a db:verify answer, after this long. */
    connectTimeoutSeconds: z.number().int().min(1).default(20),
    /** Incoming s2s connections at once, over both s2s listeners. */
    maxConnections: z.number().int().min(1).default(1000),
    /**
     * Outgoing s2s streams at once (connecting or up). Past it a stanza for a
     * domain with no stream is bounced (resource-constraint), and a peer's
     * dialback check that needs a new stream gets a wait error: a peer naming
     * ever new domains would otherwise have this server open a stream to each.
     */
    maxOutgoingStreams: z.number().int().min(1).default(1000),
    /**
     * Per-connection limits (incoming and outgoing): maxConnectionsPerIp,
     * maxUnauthenticatedPerIp, maxStanzaSize, maxStanzaDepth,
     * authTimeoutSeconds (an incoming stream used only for db:verify stays
     * open while it is used), readRateBytesPerSecond, readBurstBytes,
     * maxOutputBytes.
     */
    ...relayLimits,
    /**
     * Stanzas (serialized bytes) that may wait for one outgoing stream while it
     * connects and authenticates; more are bounced at once with resource-constraint.
     */
    maxQueuedBytes: z.number().int().min(65536).default(8 * 1024 * 1024),
    /** The same over all outgoing streams: many domains would multiply maxQueuedBytes. */
    maxQueuedBytesTotal: z.number().int().min(65536).default(64 * 1024 * 1024),
    /**
     * Dialback checks (XEP-0220) pending at once over all incoming streams: each
     * costs an outgoing DNS lookup and connection to a domain the peer names.
     */
    maxPendingDialbackChecks: z.number().int().min(1).default(256),
  }).prefault({}),
  /**
   * Limits of external component streams (XEP-0114), the components listener's
   * connections; which components exist is `components`.
   */
  component: z.strictObject({
    /** Component connections at once. */
    maxConnections: z.number().int().min(1).default(10000),
    /** The handshake counts as authentication; see relayLimits for each. */
    ...relayLimits,
    /**
     * Wrong handshakes (secrets) from one address (an IPv6 /64) within the
     * window; past it every handshake from there is refused, right or wrong.
     */
    failedHandshakesPerIp: throttle.default({ maxFailures: 10, windowSeconds: 60 }),
  }).prefault({}),
  /** The HTTP server (`listeners.http`, `listeners.https`) and what it offers. */
  http: z.strictObject({
    /**
     * Reverse proxies (IP addresses or CIDR ranges) whose X-Forwarded-For and
     * X-Forwarded-Proto headers are believed; from anyone else they are ignored.
     */
    trustedProxies: z.array(z.string()).default([]),
    /** Largest request body accepted, bytes; larger ones get 413. */
    maxBodyBytes: z.number().int().min(1024).default(1024 * 1024),
    /** Requests in progress at once over both listeners (BOSH long polls count while they wait, upload downloads until their body is sent or cut off, and an upload answered before its body arrived until the client sends on or leaves). */
    maxRequests: z.number().int().min(1).default(10000),
    /** Requests in progress at once from one client address (after X-Forwarded-For; an IPv6 /64 is one). */
    maxRequestsPerIp: z.number().int().min(1).default(100),
    /**
     * Longest a request body may take to arrive, seconds; later, 408 and the
     * request no longer counts (uploads have their own, size-derived bound).
     */
    bodyTimeoutSeconds: z.number().int().min(1).default(60),
    /** Serve XMPP over WebSocket (RFC 7395) at /xmpp-websocket and advertise it (XEP-0156). */
    websocket: z.boolean().default(true),
    /** Serve BOSH (XEP-0206) at /http-bind and advertise it (XEP-0156). */
    bosh: z.boolean().default(true),
    /** The WebSocket URL advertised in host-meta; default: derived from each request's Host. */
    websocketUrl: z.url({ protocol: /^wss?$/ }).optional(),
    /** The BOSH URL advertised in host-meta; default: derived from each request's Host. */
    boshUrl: z.url({ protocol: /^https?$/ }).optional(),
  }).prefault({}),
  /**
   * BOSH (XEP-0124/XEP-0206) at `/http-bind` of the HTTP server: the
   * same SASL, binding, limits and session model as a TCP client.
   */
  bosh: z.strictObject({
    /** Longest a request is held waiting for something to send (the client's `wait` is capped by it). */
    maxWaitSeconds: z.number().int().min(1).max(3600).default(60),
    /** Requests the server keeps waiting at once per session (the client's `hold` is capped by it). */
    maxHold: z.number().int().min(1).max(5).default(1),
    /** A session with no request waiting for this long is closed (its client is gone). */
    maxInactivitySeconds: z.number().int().min(1).default(60),
    /** Longest pause (XEP-0124 §10) a client may ask for, in seconds. */
    maxPauseSeconds: z.number().int().min(0).default(120),
    /**
     * Web origins (e.g. "https://chat.example.net") allowed to use BOSH from
     * a browser (CORS). Empty: no cross-origin access.
     */
    corsOrigins: z.array(z.string()).default([]),
    /** BOSH sessions at once over all clients. */
    maxSessions: z.number().int().min(1).default(10000),
    /** BOSH sessions at once from one IP address, an IPv6 /64 being one (high: users behind NAT share one). */
    maxSessionsPerIp: z.number().int().min(1).default(100),
    /** Largest request body, bytes; each stanza in it is also bound by c2s.maxStanzaSize. */
    maxBodyBytes: z.number().int().min(4096).default(1048576),
    /** Most stanzas in one request body. */
    maxStanzasPerBody: z.number().int().min(1).default(100),
    /**
     * Elements waiting for the client's next request past which its session
     * ends as a slow reader (bytes are bound by c2s.maxOutputBytes).
     */
    maxQueuedElements: z.number().int().min(16).default(10000),
  }).prefault({}),
  /** External components (XEP-0114): component domain → its shared secret. */
  components: z.record(z.string(), z.strictObject({ secret: z.string().min(1) })).default({}),
  // ---- service hosts (internal components) ----------------------------
  // (muc: see its section above; `muc.enabled` and `muc.domain` make its service host.)
  /** Publish-subscribe (XEP-0060) on a service host per hosted domain. */
  pubsub: z.strictObject({
    /** Serve it (on every hosted domain). */
    enabled: z.boolean().default(true),
    /** The service domain; `{domain}` stands for each hosted domain. */
    domain: z.string().min(1).default("pubsub.{domain}"),
    /**
     * Who may create nodes (explicitly, or by publishing to a missing node):
     * "local" (users of the service's parent domain), "admins" (the host's
     * admins only) or "anyone" (remote users too). Admins may always, and
     * act as owners of every node.
     */
    create: z.enum(["local", "admins", "anyone"]).default("local"),
    /** Nodes the service holds; creating more is refused. */
    maxNodes: z.number().int().min(1).default(10000),
    /** Largest max_items a node may have; what `max_items=max` means. */
    maxItemsPerNode: z.number().int().min(1).default(1000),
    /** Largest published item payload, in bytes. */
    maxItemBytes: z.number().int().min(1024).default(262144),
    /** Subscriptions one node may have; more are refused. */
    maxSubscriptionsPerNode: z.number().int().min(1).max(10000).default(10000),
    /** Bytes the items of all nodes may take together (a quota on storage); more are refused. */
    maxBytes: z.number().int().min(1024).default(1073741824),
  }).prefault({}),
  /**
   * HTTP file upload (XEP-0363) on a service host per hosted domain: slots
   * are signed, time-limited PUT URLs on the HTTP server under `/upload/`;
   * files live in `<dataDir>/uploads/`.
   */
  upload: z.strictObject({
    /** Serve it (on every hosted domain). */
    enabled: z.boolean().default(true),
    /** The service domain; `{domain}` stands for each hosted domain. */
    domain: z.string().min(1).default("upload.{domain}"),
    /**
     * Where clients reach `/upload` (no trailing slash), e.g.
     * "https://files.example.net/upload" behind a reverse proxy. Default:
     * `https://<upload domain>:<https port>/upload` (plain HTTP when HTTPS is off).
     */
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** Largest file, in bytes; larger requests get `file-too-large`. */
    maxFileBytes: z.number().int().min(1).default(104857600),
    /**
     * Content types accepted ("image/png", or "image/*" for a whole type);
     * empty: any.
     */
    allowedTypes: z.array(z.string()).default([]),
    /** Bytes one user may upload in any 24 hours (slots granted count). */
    userQuotaBytesPerDay: z.number().int().min(0).default(1073741824),
    /** Bytes all files of one upload service may take on disk together. */
    globalQuotaBytes: z.number().int().min(0).default(10737418240),
    /** Files older than this many days are deleted; 0 keeps them for ever. */
    expireDays: z.number().int().min(0).default(30),
    /** How long a slot's PUT URL stays valid, in seconds. */
    slotSeconds: z.number().int().min(10).max(86400).default(300),
    /**
     * Every PUT body and every download must be over within this many
     * seconds plus its size at `transferMinBytesPerSecond`; else the PUT is
     * refused (408, nothing kept, the slot still usable until it expires)
     * or the download cut off. Bounds a client that trickles or stalls.
     */
    transferBaseSeconds: z.number().int().min(1).default(60),
    /** The slowest transfer rate granted, in bytes per second (16 KiB/s: a weak mobile link). */
    transferMinBytesPerSecond: z.number().int().min(1).default(16384),
    /**
     * Web origins allowed to PUT from a browser (CORS); "*" allows any (the
     * URL's signature is the only credential). GET is open to any origin.
     */
    corsOrigins: z.array(z.string()).default(["*"]),
  }).prefault({}),
  // ---- end service hosts ----
  /** Operator endpoints: /metrics (OpenMetrics); /health and /ready are always served. */
  metrics: z.strictObject({
    /** Serve /metrics (and time storage calls for its latency histogram). */
    enabled: z.boolean().default(true),
    /**
     * Addresses or CIDR ranges that may read /metrics (after X-Forwarded-For
     * from a trusted proxy); anyone else needs the token.
     */
    allowFrom: z.array(z.string()).default(["127.0.0.0/8", "::1"]),
    /** A secret that also grants access as `Authorization: Bearer <token>`; absent: none. */
    token: z.string().min(16).optional(),
  }).prefault({}),
  /** STUN/TURN servers offered to local users (XEP-0215), module `external_services`. */
  externalServices: z.strictObject({
    /** Lifetime of the TURN credentials made from a service's `secret`, in seconds. */
    credentialLifetimeSeconds: z.number().int().min(60).max(7 * 86400).default(86400),
    /** The services, by a name of your choosing (see docs/configuration.md). */
    services: z.record(z.string(), externalService).default({}),
  }).prefault({}),
  /** Server contact addresses (XEP-0157), as URIs (mailto:, xmpp:, https:). */
  contactAddresses: z.strictObject({
    abuse: z.array(z.string()).default([]),
    admin: z.array(z.string()).default([]),
    feedback: z.array(z.string()).default([]),
    sales: z.array(z.string()).default([]),
    security: z.array(z.string()).default([]),
    support: z.array(z.string()).default([]),
  }).prefault({}),
  /**
   * The status page at `/status` of the HTTP server: admins (`admins`, and
   * a host's own) log in with their XMPP password, over HTTPS or from loopback.
   */
  status: z.strictObject({
    /** Serve the status page. */
    enabled: z.boolean().default(true),
    /** How long a login lasts (the signed cookie's lifetime), seconds. */
    sessionSeconds: z.number().int().min(60).max(7 * 86400).default(3600),
    /** How often the page's live view is refreshed, seconds. */
    refreshSeconds: z.number().int().min(1).max(300).default(2),
  }).prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type VirtualHostInput = z.infer<typeof vhost>;

/** A host with every default filled in. */
export interface HostConfig {
  domain: string;
  /**
   * "user" (the default): accounts, c2s logins, core delivery. "service":
   * an internal component (`conference.<domain>`) served by its modules only.
   */
  kind?: "user" | "service";
  /** For a service host: the config key of its service ("muc", "pubsub"). */
  service?: ServiceKey;
  /** For a service host: the hosted (user) domain it belongs to. */
  parent?: string;
  tls?: { certificate: string; key: string };
  modules: string[];
  admins: string[];
}

/** Flatten string and object host entries into one shape. */
export function hostConfigs(config: Config): HostConfig[] {
  return config.hosts.map((h) => {
    if (typeof h === "string") {
      return { domain: h.toLowerCase(), modules: [...config.modules], admins: [...config.admins] };
    }
    const modules = [...config.modules, ...h.modules].filter((m) => !h.disabledModules.includes(m));
    return {
      domain: h.domain.toLowerCase(),
      tls: h.tls,
      modules: [...new Set(modules)],
      admins: [...config.admins, ...h.admins],
    };
  });
}

/** The services that run on service hosts of their own, by config key. */
export type ServiceKey = "muc" | "pubsub" | "upload";

/**
 * The modules each service loads on its service host. A service whose
 * modules are not all registered is not served (the server logs it).
 */
export const SERVICE_MODULES: Readonly<Record<ServiceKey, readonly string[]>> = {
  muc: ["muc"],
  pubsub: ["pubsub"],
  upload: ["upload"],
};

/** The service domain for `parent` from a template like "conference.{domain}". */
export function serviceDomain(template: string, parent: string): string {
  return template.replaceAll("{domain}", parent).toLowerCase();
}

/**
 * The service hosts of every enabled service: one per hosted domain, with
 * the parent's certificate pair and admins, and the service's modules.
 * A domain configured as an external component is left to the component.
 */
export function serviceHostConfigs(config: Config): HostConfig[] {
  const out: HostConfig[] = [];
  const components = new Set(Object.keys(config.components).map((c) => c.toLowerCase()));
  for (const key of Object.keys(SERVICE_MODULES) as ServiceKey[]) {
    const settings = config[key];
    if (!settings.enabled) continue;
    for (const parent of hostConfigs(config)) {
      const domain = serviceDomain(settings.domain, parent.domain);
      // An external component of that name (say, another MUC) replaces the built-in one.
      if (components.has(domain)) continue;
      out.push({
        domain,
        kind: "service",
        service: key,
        parent: parent.domain,
        tls: parent.tls,
        modules: [...SERVICE_MODULES[key]],
        admins: [...parent.admins],
      });
    }
  }
  return out;
}
