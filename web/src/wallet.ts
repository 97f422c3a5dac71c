// The student wallet as its holder sees it: the holder's own session (separate from staff
// sessions: cookie guichet_holder), balances, statement, card reloads, activation. The server
// side is modules/wallet (wallet_http.cpp, reloads_http.cpp).
import { useEffect, useState } from 'preact/hooks';
import { getJson, sendEmpty, sendJson, setCsrfToken, type RequestOptions } from './api';

const isObject = (value: unknown): value is Record<string, unknown> =>
  !!value && typeof value === 'object' && !Array.isArray(value);

// Holder calls never send the reader to the staff login page: a 401 here means "log in to
// your wallet", which the wallet pages show themselves.
const holderCall: RequestOptions = { sessionRequired: false };

export interface HolderSupport {
  id: number;
  number: string;
  technology: string;
  form: 'physical' | 'virtual';
  opposition: 'none' | 'temporary' | 'permanent';
}

export interface Holder {
  id: number;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  language: string;
  state: string;
  opposition: 'none' | 'temporary' | 'permanent';
  supports: HolderSupport[];
}

const isHolder = (body: unknown): body is Holder =>
  isObject(body) && typeof body.id === 'number' && typeof body.state === 'string' && Array.isArray(body.supports);

interface SessionAnswer {
  holder: Holder;
  csrf_token: string;
}
const isSessionAnswer = (body: unknown): body is SessionAnswer =>
  isObject(body) && isHolder(body.holder) && typeof body.csrf_token === 'string';
const isCurrentSession = (body: unknown): body is { holder: Holder | null; csrf_token: string | null } =>
  isObject(body) && (body.holder === null || isSessionAnswer(body));

export interface Counter {
  code: string;
  kind: 'euro' | 'token';
  nature: string;
  token_name: string;
  information_fr: string;
  information_en: string;
}

export interface Account {
  counter: Counter;
  balance: number;
  available: number;
}
const isAccounts = (body: unknown): body is { accounts: Account[] } =>
  isObject(body) &&
  Array.isArray(body.accounts) &&
  body.accounts.every((item) => isObject(item) && isObject(item.counter) && typeof item.balance === 'number');

export interface StatementLine {
  id: number;
  at_ms: number;
  counter: string;
  direction: 'credit' | 'debit';
  kind: string;
  mode: string;
  label: string;
  amount: number;
  fee: number;
  balance_after: number;
  support_number: string | null;
}
const isStatement = (body: unknown): body is { lines: StatementLine[]; next_before: number | null } =>
  isObject(body) &&
  Array.isArray(body.lines) &&
  body.lines.every((line) => isObject(line) && typeof line.id === 'number' && typeof line.amount === 'number');

export interface CardReload {
  reference: string;
  amount: number;
  fee: number;
  status: string;
  redirect_url?: string;
}
const isCardReload = (body: unknown): body is CardReload =>
  isObject(body) && typeof body.reference === 'string' && typeof body.status === 'string';

// ---- The holder's session, shared by the wallet pages ------------------------------------------

export type HolderState = { kind: 'loading' } | { kind: 'anonymous' } | { kind: 'active'; holder: Holder };

let current: HolderState = { kind: 'loading' };
const listeners = new Set<(state: HolderState) => void>();
let reading: Promise<void> | null = null;

function publish(state: HolderState) {
  current = state;
  for (const listener of listeners) listener(state);
}

function loggedIn(answer: SessionAnswer) {
  setCsrfToken(answer.csrf_token);
  publish({ kind: 'active', holder: answer.holder });
}

/** Asks the server whether this browser has a holder session (once, unless forced). */
export function refreshHolder(force = false): Promise<void> {
  if (reading && !force) return reading;
  // No session (holder null) or a failure (the network) leaves the reader on the login form.
  reading = getJson('/api/v1/wallet/holder-session', isCurrentSession, undefined, holderCall).then(
    (answer) => (answer.holder ? loggedIn(answer as SessionAnswer) : publish({ kind: 'anonymous' })),
    () => publish({ kind: 'anonymous' }),
  );
  return reading;
}

/** The holder's session as a hook: re-renders when it changes. */
export function useHolder(): HolderState {
  const [state, setState] = useState(current);
  useEffect(() => {
    listeners.add(setState);
    if (current.kind === 'loading') void refreshHolder();
    else setState(current);
    return () => {
      listeners.delete(setState);
    };
  }, []);
  return state;
}

/** After any call answered 401: the session ended on the server (idle, logout elsewhere). */
export function holderSessionEnded() {
  setCsrfToken(null);
  publish({ kind: 'anonymous' });
}

export async function holderLogin(email: string, password: string) {
  loggedIn(await sendJson('POST', '/api/v1/wallet/holder-session', { email, password }, isSessionAnswer, holderCall));
}

export async function holderLogout() {
  try {
    await sendEmpty('DELETE', '/api/v1/wallet/holder-session', undefined, holderCall);
  } finally {
    holderSessionEnded();
  }
}

/** The activation link's token sets the password and logs the holder in. */
export async function activateWallet(token: string, password: string) {
  loggedIn(await sendJson('POST', '/api/v1/wallet/activation', { token, password }, isSessionAnswer, holderCall));
}

/** The activation link's token closes the account for good instead. */
export const deactivateWallet = (token: string) =>
  sendEmpty('POST', '/api/v1/wallet/deactivation', { token }, holderCall);

export const getMyAccounts = (signal?: AbortSignal) =>
  getJson('/api/v1/wallet/me/accounts', isAccounts, signal, holderCall).then((body) => body.accounts);

export function getMyStatement(options: { before?: number; limit?: number }, signal?: AbortSignal) {
  const query = new URLSearchParams();
  if (options.before) query.set('before', String(options.before));
  query.set('limit', String(options.limit ?? 20));
  return getJson(`/api/v1/wallet/me/statement?${query.toString()}`, isStatement, signal, holderCall);
}

export const startCardReload = (amount: number) =>
  sendJson('POST', '/api/v1/wallet/me/card-reloads', { amount }, isCardReload, holderCall);

// ---- Display ---------------------------------------------------------------------------------------

/** An amount of a counter: euros from cents, tokens as a count with their name. */
export function formatAmount(amount: number, counter: Pick<Counter, 'kind' | 'token_name'>, lang: string): string {
  if (counter.kind === 'euro') {
    return new Intl.NumberFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', { style: 'currency', currency: 'EUR' }).format(
      amount / 100,
    );
  }
  return `${amount} ${counter.token_name}`;
}
