// Turns the server's problems into text for the reader. The server writes its `detail` in
// English; known codes are shown from the catalogues instead, and the password policy's
// messages (a fixed set) are recognised and translated. Anything else is shown as the server
// wrote it, marked as English so screen readers pronounce it right.
import type { FieldProblem, Problem } from './api';
import type { MessageKey, Translate } from './i18n';

/** A text to show, with its language when it is not the page's (server details are English). */
export interface Localised {
  text: string;
  lang?: 'en';
}

/** One error of a form: on a field (by its element id) or about the whole form. */
export interface FormError extends Localised {
  field?: string;
}

const codeMessages: Record<string, MessageKey> = {
  invalid_credentials: 'problem.invalid_credentials',
  invalid_second_factor: 'problem.invalid_second_factor',
  unauthenticated: 'problem.unauthenticated',
  second_factor_required: 'problem.second_factor_required',
  csrf_token_invalid: 'problem.csrf_token_invalid',
  cross_origin_refused: 'problem.csrf_token_invalid',
  password_change_required: 'problem.password_change_required',
  forbidden: 'problem.forbidden',
  grant_exceeds_own_rights: 'problem.grant_exceeds_own_rights',
  cannot_change_self: 'problem.cannot_change_self',
  staff_not_found: 'problem.staff_not_found',
  organisation_not_found: 'problem.organisation_not_found',
  history_not_found: 'problem.history_not_found',
  email_taken: 'problem.email_taken',
  grant_exists: 'problem.grant_exists',
  reset_link_invalid: 'problem.reset_link_invalid',
  no_enrolment_started: 'problem.no_enrolment_started',
  password_check_unavailable: 'password.weak.unavailable',
  // Points of sale and merchants (modules/wallet/pos_http.cpp).
  point_not_found: 'problem.point_not_found',
  merchant_not_found: 'problem.merchant_not_found',
  point_duplicate: 'problem.point_duplicate',
  point_not_pending: 'problem.point_not_pending',
  point_not_approved: 'problem.point_not_approved',
  point_already_opposed: 'problem.point_already_opposed',
  point_not_opposed: 'problem.point_not_opposed',
  transaction_not_found: 'problem.transaction_not_found',
  not_cancellable: 'problem.not_cancellable',
  amount_invalid: 'problem.amount_invalid',
};

// The password policy's refusals, as platform/identity/password.cpp words them.
const passwordMessages: [RegExp, MessageKey][] = [
  [/^This password is too short: use at least (?<count>\d+)/, 'password.weak.short'],
  [/^This password is too long: use at most (?<count>\d+)/, 'password.weak.long'],
  [/^This password is mostly a repeated character/, 'password.weak.repetitive'],
  [/^This password contains "(?<word>[^"]*)", taken from/, 'password.weak.personal'],
  [/^This password is a dictionary word/, 'password.weak.dictionary'],
  [/^This password is too systematic/, 'password.weak.systematic'],
  [/^This password follows a common pattern/, 'password.weak.pattern'],
  [/^This password is too easy to guess/, 'password.weak.guessable'],
  [/^Passwords cannot be checked/, 'password.weak.unavailable'],
  [/^The new password must differ from the current one/, 'password.weak.same'],
  [/^The current password is wrong/, 'password.current.wrong'],
  [/^This code does not match/, 'problem.code_mismatch'],
];

function fromServerText(text: string, t: Translate): Localised {
  for (const [pattern, key] of passwordMessages) {
    const match = pattern.exec(text);
    if (match) return { text: t(key, match.groups) };
  }
  return { text, lang: 'en' };
}

/** The message for a whole problem. */
export function problemMessage(problem: Problem, t: Translate): Localised {
  switch (problem.kind) {
    case 'network':
      return { text: t('problem.network') };
    case 'invalid':
      return { text: t('problem.invalid') };
    case 'http':
      return { text: t('problem.http', { status: problem.status ?? 0 }) };
    case 'problem':
      break;
  }
  if (problem.code === 'account_locked') {
    const minutes = /(\d+) minute/.exec(problem.detail ?? '')?.[1];
    return {
      text: minutes ? t('problem.account_locked', { minutes }) : t('problem.account_locked_soon'),
    };
  }
  const key = problem.code ? codeMessages[problem.code] : undefined;
  if (key) return { text: t(key) };
  if (problem.detail) return fromServerText(problem.detail, t);
  return { text: t('problem.http', { status: problem.status ?? 0 }) };
}

function fieldMessage(problem: Problem, field: FieldProblem, t: Translate): Localised {
  if (problem.code === 'email_taken') return { text: t('problem.email_taken') };
  return fromServerText(field.message, t);
}

/**
 * The errors of a refused form: those the server tied to a field (its JSON pointer, mapped
 * by `fields` to an element id) go next to that field; the rest describe the whole form.
 */
export function formErrors(
  problem: Problem,
  t: Translate,
  fields: Record<string, string> = {},
): FormError[] {
  const errors: FormError[] = [];
  for (const field of problem.errors ?? []) {
    const id = fields[field.pointer];
    if (id) errors.push({ field: id, ...fieldMessage(problem, field, t) });
  }
  if (errors.length === 0) errors.push(problemMessage(problem, t));
  return errors;
}
