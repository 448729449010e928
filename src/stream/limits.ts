/**
 * The limits each kind of stream runs under, from its own config section:
 * clients by `c2s.*`, peer servers (incoming and outgoing) by `s2s.*`,
 * external components by `component.*`. No section governs another kind:
 * a client-facing setting (say a small c2s.maxStanzaSize) never tears
 * down federation or a component by surprise.
 *
 * - transport limits (read rate, output high-water mark): `clientLimits`,
 *   `serverLimits`, `componentLimits`;
 * - parser limits (stanza size and depth): `parserLimits(section)`;
 * - listener caps (connections at once, per IP, unauthenticated per IP):
 *   `listenerCaps(section)`.
 *
 * A stream takes both of the first two as one: `clientTransportLimits`,
 * `serverTransportLimits`, `componentTransportLimits`.
 */
import type { Config } from "../config/schema.ts";
import type { ConnectionLimits } from "../net/connection.ts";
import type { TransportLimits } from "./transport.ts";
import type { LimiterSettings } from "../net/connection_limiter.ts";
import type { StreamLimits } from "./frame_input.ts";

interface TransportSection {
  readRateBytesPerSecond: number;
  readBurstBytes: number;
  maxOutputBytes: number;
}

function transportLimits(section: TransportSection): ConnectionLimits {
  return {
    readRate: {
      bytesPerSecond: section.readRateBytesPerSecond,
      burstBytes: section.readBurstBytes,
    },
    maxOutputBytes: section.maxOutputBytes,
  };
}

export function clientLimits(config: Config): ConnectionLimits {
  return transportLimits(config.c2s);
}

/** Peer servers, on incoming and outgoing streams alike. */
export function serverLimits(config: Config): ConnectionLimits {
  return transportLimits(config.s2s);
}

export function componentLimits(config: Config): ConnectionLimits {
  return transportLimits(config.component);
}

/** The parser limits of a section (`c2s`, `s2s` or `component`): used as configured. */
export function parserLimits(section: StreamLimits): StreamLimits {
  return { maxStanzaSize: section.maxStanzaSize, maxStanzaDepth: section.maxStanzaDepth };
}

/** A section's connection caps, for its listeners' ConnectionLimiter. */
export function listenerCaps(section: {
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxUnauthenticatedPerIp: number;
}): LimiterSettings {
  return {
    maxTotal: section.maxConnections,
    maxPerIp: section.maxConnectionsPerIp,
    maxUnauthenticatedPerIp: section.maxUnauthenticatedPerIp,
  };
}

/** A client stream's limits, parser's included, whatever its transport. */
export function clientTransportLimits(config: Config): TransportLimits {
  return { ...clientLimits(config), ...parserLimits(config.c2s) };
}

/** A peer server's stream (incoming or outgoing), parser's limits included. */
export function serverTransportLimits(config: Config): TransportLimits {
  return { ...serverLimits(config), ...parserLimits(config.s2s) };
}

/** An external component's stream, parser's limits included. */
export function componentTransportLimits(config: Config): TransportLimits {
  return { ...componentLimits(config), ...parserLimits(config.component) };
}
