/**
 * A peer's own CPU time, for the figures that report CPU per operation.
 *
 * @module
 */
import process from "node:process";

/** Process CPU time so far, user + system, in ms. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
