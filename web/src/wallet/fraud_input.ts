// Reading the fraud rule form (W20): what an admin types — a count, a window in minutes, a
// threshold in euros, a site depth, an action — as the body of PUT /api/v1/wallet/fraud/rules/{kind}.
// Self-contained (no imports) so that node --test can load it alone (fraud_input.test.mjs).

export const fraudKinds = ['velocity', 'refusals', 'distance', 'amount', 'qr_replay'] as const;
export type FraudKind = (typeof fraudKinds)[number];

/** The server's limits (modules/wallet/fraud.h). */
export const fraudLimits = {
  countMax: 10_000,
  windowMinutesMax: 7 * 24 * 60,
  amountCentsMax: 100_000_000,
  siteDepthMax: 8,
  noteLengthMax: 1000,
} as const;

/** Which parameters each kind has. */
export const kindFields: Record<FraudKind, { count: boolean; window: boolean; amount: boolean; depth: boolean }> = {
  velocity: { count: true, window: true, amount: false, depth: false },
  refusals: { count: true, window: true, amount: false, depth: false },
  distance: { count: false, window: true, amount: false, depth: true },
  amount: { count: false, window: false, amount: true, depth: false },
  qr_replay: { count: true, window: true, amount: false, depth: false },
};

export interface RuleBody {
  enabled?: boolean;
  action?: 'alert' | 'oppose';
  count?: number;
  window_s?: number;
  amount_cents?: number;
  site_depth?: number;
}

export interface RuleForm {
  enabled: boolean;
  count: string;
  minutes: string;
  euros: string;
  depth: string;
  action: string;
}

const wholeIn = (text: string, min: number, max: number) => {
  const trimmed = text.trim();
  if (!/^\d{1,6}$/.test(trimmed)) return null;
  const value = Number(trimmed);
  return value >= min && value <= max ? value : null;
};

/**
 * The request body a filled rule form makes (only the kind's fields: the server refuses the
 * others), or the fields in error. Amounts are read by `eurosToCents` (pos_input.ts).
 */
export function readRuleFormWith(
  kind: FraudKind,
  form: RuleForm,
  eurosToCents: (text: string) => number | null,
): { body: RuleBody } | { errors: string[] } {
  const fields = kindFields[kind];
  const errors: string[] = [];
  const body: RuleBody = { enabled: form.enabled, action: form.action === 'oppose' ? 'oppose' : 'alert' };
  if (form.action !== 'oppose' && form.action !== 'alert') errors.push('action');
  if (fields.count) {
    const count = wholeIn(form.count, 1, fraudLimits.countMax);
    if (count === null) errors.push('count');
    else body.count = count;
  }
  if (fields.window) {
    const minutes = wholeIn(form.minutes, 1, fraudLimits.windowMinutesMax);
    if (minutes === null) errors.push('minutes');
    else body.window_s = minutes * 60;
  }
  if (fields.amount) {
    const cents = eurosToCents(form.euros);
    if (cents === null || cents < 1 || cents > fraudLimits.amountCentsMax) errors.push('euros');
    else body.amount_cents = cents;
  }
  if (fields.depth) {
    const depth = wholeIn(form.depth, 1, fraudLimits.siteDepthMax);
    if (depth === null) errors.push('depth');
    else body.site_depth = depth;
  }
  return errors.length > 0 ? { errors } : { body };
}
