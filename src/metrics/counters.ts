/**
 * The process-wide counters bumped on hot paths (a client's stanza in, a
 * stanza written out, a connection accepted or closed, an auth result).
 * Plain number fields on module-level objects: an increment is a
 * property write, no allocation, no lookup through a registry, so the
 * call sites stay one line and cost nothing measurable (bench/router_bench.ts).
 * They count for the whole process: a deployment runs one server per
 * process; tests that start several compare before/after differences.
 * The /metrics registry (registry.ts, server_metrics.ts) reads them at scrape time.
 */
import type { StreamTransport } from "../stream/transport.ts";

/** Client stanzas by kind and direction. */
export const stanzas = {
  inMessage: 0,
  inPresence: 0,
  inIq: 0,
  outMessage: 0,
  outPresence: 0,
  outIq: 0,
};

/** A client transport as metrics label it: TCP without TLS at accept, direct TLS, WebSocket, BOSH. */
export type ConnectionLabel = "tcp" | "tls" | "websocket" | "bosh";
export const CONNECTION_LABELS: readonly ConnectionLabel[] = ["tcp", "tls", "websocket", "bosh"];

/** Client connections accepted (ever) and open (now), by transport. */
export const connections = {
  accepted: { tcp: 0, tls: 0, websocket: 0, bosh: 0 } as Record<ConnectionLabel, number>,
  open: { tcp: 0, tls: 0, websocket: 0, bosh: 0 } as Record<ConnectionLabel, number>,
};

/** SASL outcomes; failures by cause (the SASL condition, or "throttled"). */
export const auth = {
  successes: 0,
  /** Causes come from a fixed set in the code (SASL conditions), so this stays small. */
  failures: new Map<string, number>(),
};

/** A client stanza received on a bound session. */
export function countStanzaIn(name: string): void {
  if (name === "message") stanzas.inMessage++;
  else if (name === "presence") stanzas.inPresence++;
  else stanzas.inIq++;
}

/** A stanza written to a client's transport. */
export function countStanzaOut(name: string): void {
  if (name === "message") stanzas.outMessage++;
  else if (name === "presence") stanzas.outPresence++;
  else stanzas.outIq++;
}

/** A client connection starts; returns its label, which `connectionClosed` takes back. */
export function connectionOpened(transport: StreamTransport): ConnectionLabel {
  const label: ConnectionLabel = transport.kind === "tcp"
    ? (transport.secure ? "tls" : "tcp")
    : transport.kind;
  connections.accepted[label]++;
  connections.open[label]++;
  return label;
}

export function connectionClosed(label: ConnectionLabel): void {
  if (connections.open[label] > 0) connections.open[label]--;
}

/** A SASL exchange ended: success, or a failure with its cause. */
export function countAuth(failureCause?: string): void {
  if (failureCause === undefined) auth.successes++;
  else auth.failures.set(failureCause, (auth.failures.get(failureCause) ?? 0) + 1);
}
