/**
 * The limits each kind of stream runs under, from its own config section:
 * clients by `c2s.*`, peer servers (incoming and outgoing) by `s2s.*`,
 * external components by `component.*`. No section governs another kind:
 * a client-facing setting (say a small c2s.maxStanzaSize) never tears
 * down federation or a component by surprise.
 *
 * - a stream's limits (read rate, output high-water mark, stanza size and
 *   depth): `clientTransportLimits`, `serverTransportLimits`,
 *   `componentTransportLimits`;
 * - listener caps (connections at once, per IP, unauthenticated per IP):
 *   `listenerCaps(section)`.
 */
import type { Config } from "../config/schema.ts";
import type { TransportLimits } from "./transport.ts";
import type { LimiterSettings } from "../net/connection_limiter.ts";
import type { StreamLimits } from "./frame_input.ts";

interface StreamSection extends StreamLimits {
  readRateBytesPerSecond: number;
  readBurstBytes: number;
  maxOutputBytes: number;
}

/** A section's limits, used as configured. */
function sectionLimits(section: StreamSection): TransportLimits {
  return {
    readRate: {
      bytesPerSecond: section.readRateBytesPerSecond,
      burstBytes: section.readBurstBytes,
    },
    maxOutputBytes: section.maxOutputBytes,
    maxStanzaSize: section.maxStanzaSize,
    maxStanzaDepth: section.maxStanzaDepth,
  };
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

/** A client stream's limits, whatever its transport. */
export function clientTransportLimits(config: Config): TransportLimits {
  return sectionLimits(config.c2s);
}

/** A peer server's stream (incoming or outgoing). */
export function serverTransportLimits(config: Config): TransportLimits {
  return sectionLimits(config.s2s);
}

/** An external component's stream. */
export function componentTransportLimits(config: Config): TransportLimits {
  return sectionLimits(config.component);
}
