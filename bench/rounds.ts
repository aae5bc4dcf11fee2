/**
 * Interleaved rounds: in each round every contender is measured once, in
 * turn (A B C … A B C …), so drift of a shared, noisy machine lands on all
 * of them alike. Ratios are taken inside a round, then their median.
 *
 * @module
 */

/** One measured value of one contender in one round. */
export interface Sample {
  round: number;
  value: number;
  /** What the stack negotiated, when it said. */
  info?: unknown;
}

/** Runs `rounds` rounds over `ids`, calling `measure` for each, in turn. Failures are recorded, not fatal. */
export async function interleave(
  ids: string[],
  rounds: number,
  measure: (id: string, round: number) => Promise<{ value: number; info?: unknown }>,
  log: (line: string) => void,
): Promise<{ samples: Map<string, Sample[]>; errors: Map<string, string> }> {
  const samples = new Map<string, Sample[]>(ids.map((id) => [id, []]));
  const errors = new Map<string, string>();
  for (let round = 0; round < rounds; round++) {
    for (const id of ids) {
      try {
        const { value, info } = await measure(id, round);
        samples.get(id)!.push({ round, value, info });
        log(`  round ${round + 1}/${rounds} ${id}: ${value.toFixed(value >= 100 ? 0 : 2)}`);
      } catch (e) {
        const message = (e as Error).message.split("\n").slice(0, 3).join(" | ");
        errors.set(id, message);
        log(`  round ${round + 1}/${rounds} ${id}: FAILED ${message}`);
      }
    }
  }
  return { samples, errors };
}

/** The median of `values` (NaN for none). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Per-round ratios of `samples` to `reference` (rounds both have), value / reference. */
export function roundRatios(samples: Sample[], reference: Sample[]): number[] {
  const byRound = new Map(reference.map((s) => [s.round, s.value]));
  return samples.filter((s) => byRound.has(s.round) && byRound.get(s.round)! > 0)
    .map((s) => s.value / byRound.get(s.round)!);
}
