/**
 * The one duration syntax, shared by flags and environment variables: a number with a unit
 * (`90s`, `30m`, `2h`, `1d`). Where a setting is documented in seconds (or days) a bare
 * number is read in that unit, so `MIAB_PROPAGATION_TIMEOUT=300` keeps working.
 */

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export type DurationUnit = keyof typeof UNIT_MS;

/** How to describe the accepted forms in an error message. */
export function durationForms(bareUnit?: DurationUnit): string {
  const bare = bareUnit === undefined ? '' : ` or a plain number of ${{ s: 'seconds', m: 'minutes', h: 'hours', d: 'days' }[bareUnit]}`;
  return `a duration such as 90s, 30m, 2h or 1d${bare}`;
}

/**
 * Milliseconds, or `undefined` when `text` is not a duration. `bareUnit` is the unit of a
 * number written without one; without it a unit is required.
 */
export function parseDurationMs(text: string, bareUnit?: DurationUnit): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = (match[2] || bareUnit) as DurationUnit | undefined;
  if (unit === undefined) return undefined;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}
