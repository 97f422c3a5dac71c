// Dates and times typed in the back office are Paris wall-clock times (the service's civil
// time, docs/settlement.md): this turns one into the instant the API wants (milliseconds since
// the epoch) and back, across the summer-time changes, whatever the browser's own time zone.
// Self-contained, so that node:test can load it (paris_time.test.mjs).

export const parisTimeZone = 'Europe/Paris';

const parts = new Intl.DateTimeFormat('en-GB', {
  timeZone: parisTimeZone,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** Paris wall-clock fields of an instant. */
function parisFields(ms: number) {
  const out: Record<string, number> = {};
  for (const part of parts.formatToParts(new Date(ms))) {
    if (part.type !== 'literal') out[part.type] = Number(part.value);
  }
  return out as { year: number; month: number; day: number; hour: number; minute: number; second: number };
}

/** How far Paris is ahead of UTC at an instant, in ms (3 600 000 in winter, 7 200 000 in summer). */
export function parisOffsetMs(ms: number): number {
  const f = parisFields(ms);
  const asUtc = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * "2026-11-29" and "14:05" read as Paris time → epoch ms, or null when malformed or when the
 * time does not exist (the hour skipped in March). In the hour repeated in October, the first
 * (summer-time) one is meant.
 */
export function parisToEpochMs(date: string, time: string): number | null {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date.trim());
  const t = /^(\d{2}):(\d{2})$/.exec(time.trim());
  if (!d || !t) return null;
  const [year, month, day, hour, minute] = [d[1], d[2], d[3], t[1], t[2]].map(Number) as [number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59) return null;
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  // The offset is 1 or 2 hours: try the summer one first (the earlier instant of a repeated hour).
  for (const guess of [wall - 2 * 3_600_000, wall - 3_600_000]) {
    if (guess + parisOffsetMs(guess) === wall) return guess;
  }
  return null;
}

/** An instant as Paris date and time for a form: ["2026-11-29", "14:05"]. */
export function epochMsToParis(ms: number): [string, string] {
  const f = parisFields(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return [`${f.year}-${two(f.month)}-${two(f.day)}`, `${two(f.hour)}:${two(f.minute)}`];
}
