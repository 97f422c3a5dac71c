// Fraud detection on the acceptance network (W20) as admins see it: the rules in force at an
// organisation (inherited down the tree), the alerts the scan opened and their closure. The
// server side is modules/wallet/fraud.h and fraud_http.cpp; docs/guide-wallet-fraud.md is the
// user guide. Pure helpers (rules in words, the rule form read) live here so they can be tested
// alone.
import { getJson, sendEmpty, sendJson } from './api';
import type { Lang, Translate } from './i18n';
import { named } from './labels';
import { readRuleFormWith, type FraudKind, type RuleBody, type RuleForm } from './wallet/fraud_input';
import { eurosToCents, formatDateTime, formatEuros } from './wallet/pos_input';

export * from './wallet/fraud_input';

const isObject = (value: unknown): value is Record<string, unknown> =>
  !!value && typeof value === 'object' && !Array.isArray(value);

export const fraudRight = { read: 'wallet.fraud.read', manage: 'wallet.fraud.manage' } as const;

export const alertStates = ['open', 'closed', 'all'] as const;

export interface FraudRule {
  kind: FraudKind | string;
  enabled: boolean;
  action: 'alert' | 'oppose' | string;
  count?: number;
  window_s?: number;
  amount_cents?: number;
  site_depth?: number;
  /** Where the rule is set; null: the built-in default. */
  set_at: { organisation_id: number; organisation_path: string } | null;
}

const isRule = (body: unknown): body is FraudRule =>
  isObject(body) &&
  typeof body.kind === 'string' &&
  typeof body.enabled === 'boolean' &&
  typeof body.action === 'string' &&
  (body.set_at === null || (isObject(body.set_at) && typeof body.set_at.organisation_id === 'number'));

export interface FraudAlert {
  id: number;
  organisation_id: number;
  rule: string;
  subject: string;
  holder_id: number | null;
  support_id: number | null;
  phone_id: number | null;
  point_id: number | null;
  summary: string;
  facts: Record<string, unknown>;
  action_taken: string;
  state: 'open' | 'closed' | string;
  created_at: string;
  closed_at?: string;
  closed_by?: number | null;
  note?: string;
}

const isAlert = (body: unknown): body is FraudAlert =>
  isObject(body) &&
  typeof body.id === 'number' &&
  typeof body.rule === 'string' &&
  typeof body.summary === 'string' &&
  isObject(body.facts) &&
  typeof body.state === 'string' &&
  typeof body.created_at === 'string';

// ---- Calls ----------------------------------------------------------------------------------------

export const listFraudRules = (organisationId: number, signal?: AbortSignal) =>
  getJson(
    `/api/v1/wallet/fraud/rules?organisation_id=${organisationId}`,
    (body): body is { rules: FraudRule[] } => isObject(body) && Array.isArray(body.rules) && body.rules.every(isRule),
    signal,
  ).then((body) => body.rules);


export const setFraudRule = (organisationId: number, kind: string, body: RuleBody) =>
  sendJson('PUT', `/api/v1/wallet/fraud/rules/${kind}?organisation_id=${organisationId}`, body, isRule);

export const clearFraudRule = (organisationId: number, kind: string) =>
  sendEmpty('DELETE', `/api/v1/wallet/fraud/rules/${kind}?organisation_id=${organisationId}`);

export const listFraudAlerts = (state: string, signal?: AbortSignal) =>
  getJson(
    `/api/v1/wallet/fraud/alerts?state=${state}`,
    (body): body is { alerts: FraudAlert[] } => isObject(body) && Array.isArray(body.alerts) && body.alerts.every(isAlert),
    signal,
  ).then((body) => body.alerts);

export const getFraudAlert = (id: number, signal?: AbortSignal) =>
  getJson(`/api/v1/wallet/fraud/alerts/${id}`, isAlert, signal);

export const closeFraudAlert = (id: number, note: string) =>
  sendJson('POST', `/api/v1/wallet/fraud/alerts/${id}/closure`, { note }, isAlert);

// ---- In words ---------------------------------------------------------------------------------------

/** Seconds as minutes, with decimals only when needed. */
export const minutesOf = (seconds: number, lang: Lang) =>
  new Intl.NumberFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', { maximumFractionDigits: 2 }).format(seconds / 60);

export const kindName = (t: Translate, kind: string) => named(t, 'fraud.kind', kind);
export const actionTakenName = (t: Translate, action: string) => named(t, 'fraud.taken', action);
/** A state as a filter choice (plural: "Open", "Closed", "All"). */
export const alertStateName = (t: Translate, state: string) => named(t, 'fraud.state', state);
/** One alert's state. */
export const oneAlertStateName = (t: Translate, state: string) => named(t, 'fraud.alert.state', state);

/** What a rule watches for, in a sentence: "3 debits or more by one card within 10 min". */
export function ruleInWords(t: Translate, rule: FraudRule, lang: Lang): string {
  const count = rule.count ?? 0;
  const minutes = minutesOf(rule.window_s ?? 0, lang);
  switch (rule.kind) {
    case 'velocity':
      return t('fraud.words.velocity', { count, minutes });
    case 'refusals':
      return t('fraud.words.refusals', { count, minutes });
    case 'distance':
      return t('fraud.words.distance', { minutes, depth: rule.site_depth ?? 0 });
    case 'amount':
      return t('fraud.words.amount', { amount: formatEuros(rule.amount_cents ?? 0, lang) });
    case 'qr_replay':
      return t('fraud.words.qr_replay', { count, minutes });
    default:
      return rule.kind;
  }
}

const num = (value: unknown) => (typeof value === 'number' ? value : undefined);

/** An alert's summary in the reader's language from its facts; null when the facts do not say. */
export function alertSummary(t: Translate, alert: FraudAlert, lang: Lang): string | null {
  const f = alert.facts;
  const window = num(f.window_s);
  const who = alert.support_id !== null ? t('fraud.who.support', { id: alert.support_id }) : t('fraud.who.unknown');
  switch (alert.rule) {
    case 'velocity':
      if (num(f.debits) === undefined || window === undefined) return null;
      return t('fraud.summary.velocity', { count: num(f.debits) ?? 0, who, minutes: minutesOf(window, lang) });
    case 'refusals':
      if (num(f.refusals) === undefined || window === undefined) return null;
      return t('fraud.summary.refusals', { count: num(f.refusals) ?? 0, who, minutes: minutesOf(window, lang) });
    case 'amount':
      if (num(f.amount) === undefined || num(f.threshold) === undefined) return null;
      return t('fraud.summary.amount', {
        amount: formatEuros(num(f.amount) ?? 0, lang), threshold: formatEuros(num(f.threshold) ?? 0, lang),
      });
    case 'distance': {
      const sites = Array.isArray(f.sites) ? f.sites.map(String) : [];
      if (sites.length < 2 || num(f.minutes_apart) === undefined) return null;
      return t('fraud.summary.distance', { who, first: sites[0] ?? '', second: sites[1] ?? '', minutes: num(f.minutes_apart) ?? 0 });
    }
    case 'qr_replay':
      if (num(f.replays) === undefined || window === undefined) return null;
      return t('fraud.summary.qr_replay', { count: num(f.replays) ?? 0, phone: alert.phone_id ?? '?', minutes: minutesOf(window, lang) });
    default:
      return null;
  }
}

/** One fact of an alert for a definition list: its label and its value in words. */
export interface FactLine {
  key: string;
  label: string;
  value: string;
  /** Points of sale the fact names, to link to. */
  points?: number[];
}

export function factLines(t: Translate, facts: Record<string, unknown>, lang: Lang): FactLine[] {
  const lines: FactLine[] = [];
  for (const [key, value] of Object.entries(facts)) {
    const label = named(t, 'fraud.fact', key);
    if (key === 'rule' && isObject(value)) {
      const words = value.action === 'oppose' ? t('fraud.action.oppose') : t('fraud.action.alert');
      lines.push({ key, label, value: words });
    } else if ((key === 'window_s') && typeof value === 'number') {
      lines.push({ key, label, value: t('fraud.minutes', { minutes: minutesOf(value, lang) }) });
    } else if ((key === 'amount' || key === 'threshold') && typeof value === 'number') {
      lines.push({ key, label, value: formatEuros(value, lang) });
    } else if ((key === 'point_at' || key === 'last_at') && typeof value === 'number') {
      lines.push({ key, label, value: formatDateTime(value, lang) });
    } else if (key === 'last_code' && typeof value === 'string') {
      lines.push({ key, label, value: named(t, 'pos.refusal', value) });
    } else if (key === 'minutes_apart' && typeof value === 'number') {
      lines.push({ key, label, value: t('fraud.minutes', { minutes: value }) });
    } else if (key === 'points' && Array.isArray(value)) {
      lines.push({ key, label, value: value.join(', '), points: value.filter((v): v is number => typeof v === 'number') });
    } else if (Array.isArray(value)) {
      lines.push({ key, label, value: value.map(String).join(' · ') });
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      lines.push({ key, label, value: String(value) });
    } else {
      lines.push({ key, label, value: JSON.stringify(value) });
    }
  }
  return lines;
}

// ---- The rule form (reading it: wallet/fraud_input.ts) ---------------------------------------

export const ruleFormOf = (rule: FraudRule, lang: Lang): RuleForm => ({
  enabled: rule.enabled,
  count: rule.count !== undefined ? String(rule.count) : '',
  minutes: rule.window_s !== undefined ? String(Math.round((rule.window_s / 60) * 100) / 100) : '',
  euros: rule.amount_cents !== undefined
    ? new Intl.NumberFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', { minimumFractionDigits: 2, useGrouping: false })
      .format(rule.amount_cents / 100)
    : '',
  depth: rule.site_depth !== undefined ? String(rule.site_depth) : '',
  action: rule.action,
});

/** The request body a filled rule form makes, or the fields in error (amounts read as pos_input does). */
export const readRuleForm = (kind: FraudKind, form: RuleForm): { body: RuleBody } | { errors: string[] } =>
  readRuleFormWith(kind, form, eurosToCents);
