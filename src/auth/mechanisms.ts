/**
 * Which SASL mechanisms a stream offers, and starting the one a client
 * picks. The stream handler asks here and nowhere else, so what is
 * advertised and what is accepted cannot disagree.
 */
import { PlainExchange } from "./plain.ts";
import { ScramExchange } from "./scram.ts";
import type { SaslContext, SaslExchange, ScramHash } from "./types.ts";

export interface MechanismOptions {
  /** config.c2s.allowPlainWithoutTls: PLAIN on an unencrypted stream. */
  allowPlainWithoutTls: boolean;
  /**
   * config.auth.scramIterations: announced for unknown users so the
   * count does not give away which accounts exist. Default 4096.
   */
  scramIterations?: number;
}

// Strongest first: clients commonly take the first one they support.
const SCRAM: readonly { name: string; hash: ScramHash; plus: boolean }[] = [
  { name: "SCRAM-SHA-256-PLUS", hash: "SHA-256", plus: true },
  { name: "SCRAM-SHA-1-PLUS", hash: "SHA-1", plus: true },
  { name: "SCRAM-SHA-256", hash: "SHA-256", plus: false },
  { name: "SCRAM-SHA-1", hash: "SHA-1", plus: false },
];

function available(name: string, ctx: SaslContext, opts: MechanismOptions): boolean {
  if (!ctx.provider.mechanisms.includes(name)) return false;
  if (name.endsWith("-PLUS")) return ctx.tlsServerEndPoint !== undefined;
  if (name === "PLAIN") return ctx.secure || opts.allowPlainWithoutTls;
  return true;
}

/** The mechanisms to advertise, in order of preference. */
export function offeredMechanisms(ctx: SaslContext, opts: MechanismOptions): string[] {
  return [...SCRAM.map((m) => m.name), "PLAIN"].filter((name) => available(name, ctx, opts));
}

/** Starts the named mechanism; undefined when it is not offered on this stream. */
export function startExchange(
  mechanism: string,
  ctx: SaslContext,
  opts: MechanismOptions,
): SaslExchange | undefined {
  if (!available(mechanism, ctx, opts)) return undefined;
  if (mechanism === "PLAIN") return new PlainExchange(ctx);
  const scram = SCRAM.find((m) => m.name === mechanism);
  if (!scram) return undefined;
  return new ScramExchange(scram.hash, scram.plus, ctx, { fakeIterations: opts.scramIterations });
}

/**
 * Why `startExchange` refused: `encryption-required` when the mechanism
 * would be offered over TLS (RFC 6120 §6.4.5), else `invalid-mechanism`.
 */
export function unavailableMechanismCondition(
  mechanism: string,
  ctx: SaslContext,
  opts: MechanismOptions,
): "encryption-required" | "invalid-mechanism" {
  const overTls = { ...ctx, secure: true };
  return !ctx.secure && mechanism === "PLAIN" && available(mechanism, overTls, opts)
    ? "encryption-required"
    : "invalid-mechanism";
}
