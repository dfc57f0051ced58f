/**
 * The protocols each registry client can speak, chosen by configuration (POPULATION_REGISTER_PROTOCOL,
 * SOPA_PROTOCOL; lib/config.ts refuses any other at start). Only `json` exists: our stubs' JSON, the contract in
 * docs/decisions.md. A SOAP/X-Road adapter is added by writing a client for the registry's interface
 * (PopulationRegisterClient, SopaClient), adding its name here and to the registry's adapter table (TypeScript
 * then insists on both).
 */
export const POPULATION_REGISTER_PROTOCOLS = ['json'] as const;
export const SOPA_PROTOCOLS = ['json'] as const;

export type PopulationRegisterProtocol = (typeof POPULATION_REGISTER_PROTOCOLS)[number];
export type SopaProtocol = (typeof SOPA_PROTOCOLS)[number];

/** `value` as one of `known`, or an Error naming the variable, the value and the known protocols. */
export function pickProtocol<P extends string>(variable: string, known: readonly P[], value: string): P {
  if ((known as readonly string[]).includes(value)) return value as P;
  throw new Error(`${variable} must be one of: ${known.join(', ')}; got "${value}" (no adapter for it in this build)`);
}
