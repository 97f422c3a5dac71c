// Names shown for the codes the API uses: profiles (named by the server in both languages),
// organisation kinds, account statuses and languages.
import type { Lang, MessageKey, Translate } from './i18n';
import { isMessageKey, languageNames } from './i18n';
import type { Organisation, Profile } from './identity';
import { depthOf } from './identity';

export function profileName(profiles: readonly Profile[] | null, code: string, lang: Lang): string {
  const profile = profiles?.find((candidate) => candidate.code === code);
  if (!profile) return code;
  return lang === 'fr' ? profile.name_fr : profile.name_en;
}

/** A catalogue text for `prefix.value` when there is one, else the code as the API gave it. */
export function named(t: Translate, prefix: string, value: string): string {
  const key = `${prefix}.${value}`;
  return isMessageKey(key) ? t(key as MessageKey) : value;
}

export const kindName = (t: Translate, kind: string) => named(t, 'org.kind', kind);
export const statusName = (t: Translate, status: string) => named(t, 'staff.status', status);
export const languageName = (code: string) =>
  code in languageNames ? languageNames[code as Lang] : code;

/**
 * An organisation as an option of a list in tree order: indented by its depth (non-breaking
 * spaces, since options cannot be styled), with its kind, and its environment unless production.
 */
export function organisationOption(t: Translate, organisation: Organisation, baseDepth: number) {
  const indent = '\u00a0\u00a0\u00a0'.repeat(Math.max(0, depthOf(organisation) - baseDepth));
  const environment =
    organisation.environment === 'production' ? '' : ` — ${organisation.environment}`;
  return {
    value: String(organisation.id),
    label: `${indent}${organisation.name} (${kindName(t, organisation.kind)})${environment}`,
  };
}

/** The depth of the shallowest organisation, so a list starts at the left edge. */
export const baseDepth = (organisations: readonly Organisation[]) =>
  organisations.reduce((min, organisation) => Math.min(min, depthOf(organisation)), Infinity);
