/**
 * The transport limits each kind of stream runs under (read rate, output
 * high-water mark), from the config: clients by `c2s.*`; s2s peers and
 * external components, which carry many users' traffic, by `s2s.*`.
 */
import type { Config } from "../config/schema.ts";
import type { ConnectionLimits } from "../net/connection.ts";
import type { TransportLimits } from "./transport.ts";

export function clientLimits(config: Config): ConnectionLimits {
  const { c2s } = config;
  return {
    readRate: { bytesPerSecond: c2s.readRateBytesPerSecond, burstBytes: c2s.readBurstBytes },
    maxOutputBytes: c2s.maxOutputBytes,
  };
}

export function serverLimits(config: Config): ConnectionLimits {
  const { s2s } = config;
  return {
    readRate: { bytesPerSecond: s2s.readRateBytesPerSecond, burstBytes: s2s.readBurstBytes },
    maxOutputBytes: s2s.maxOutputBytes,
  };
}

/** A client stream's limits, parser's included, whatever its transport. */
export function clientTransportLimits(config: Config): TransportLimits {
  const { c2s } = config;
  return {
    ...clientLimits(config),
    maxStanzaSize: c2s.maxStanzaSize,
    maxStanzaDepth: c2s.maxStanzaDepth,
  };
}
