/**
 * How a command-line tool spells the options of a {@link PeerSpec}: each
 * driver writes one table per role (option → the tool's arguments), and
 * {@link flagsFor} turns a spec into arguments, in the table's order.
 * @module
 */
import type { PeerSpec } from "../lib/cases.ts";

/** For each option a tool takes: its arguments for the option's value (the whole spec at hand). */
export type FlagTable = {
  [K in keyof PeerSpec]?: (value: NonNullable<PeerSpec[K]>, spec: PeerSpec) => string[];
};

/** The arguments for every option of the table that `spec` sets (not undefined, not false). */
export function flagsFor(spec: PeerSpec, table: FlagTable): string[] {
  return (Object.keys(table) as (keyof PeerSpec)[]).flatMap((option) => {
    const value = spec[option];
    if (value === undefined || value === false) return [];
    const flags = table[option] as (value: unknown, spec: PeerSpec) => string[];
    return flags(value, spec);
  });
}
