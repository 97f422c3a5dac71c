// The identity API: sessions, one's own account, staff accounts, organisations, profiles and
// the audit trail. Every answer is shape-checked before a screen reads it.
import { getJson, sendEmpty, sendJson, type RequestOptions } from './api';

// ---- Shapes --------------------------------------------------------------------------------

export interface Grant {
  id: number;
  organisation_id: number;
  organisation_name: string;
  profile: string;
}

export type StaffStatus = 'active' | 'suspended';

export interface User {
  id: number;
  email: string;
  display_name: string;
  language: string;
  status: string;
  must_change_password: boolean;
  second_factor_enabled: boolean;
  second_factor_required: boolean;
  grants: Grant[];
}

export interface SessionInfo {
  user: User;
  csrf_token: string;
  second_factor_pending: boolean;
  /** Only in the answer of a login: GET /session leaves it out (derive it from `user`). */
  second_factor_enrolment_required?: boolean;
}

export interface Profile {
  code: string;
  product: string;
  name_fr: string;
  name_en: string;
  inherits: string | null;
  strong_authentication: boolean;
  organisation_kinds: string[];
  permissions: string[];
}

export interface Organisation {
  id: number;
  parent_id: number | null;
  kind: string;
  name: string;
  path: string;
  environment: string;
}

export interface TotpEnrolment {
  secret: string;
  otpauth_uri: string;
  qr_svg: string;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor_type: string;
  actor_id: number | null;
  organisation_id: number | null;
  action: string;
  before: unknown;
  after: unknown;
  request_id: string;
  redacted: boolean;
  hash: string;
}

// ---- Guards --------------------------------------------------------------------------------

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields =>
  !!value && typeof value === 'object' && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number => typeof value === 'number';
const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean';
const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every(isString);

function arrayOf<T>(value: unknown, isItem: (item: unknown) => item is T): value is T[] {
  return Array.isArray(value) && value.every(isItem);
}

function isGrant(value: unknown): value is Grant {
  return (
    isObject(value) &&
    isNumber(value.id) &&
    isNumber(value.organisation_id) &&
    isString(value.organisation_name) &&
    isString(value.profile)
  );
}

export function isUser(value: unknown): value is User {
  return (
    isObject(value) &&
    isNumber(value.id) &&
    isString(value.email) &&
    isString(value.display_name) &&
    isString(value.language) &&
    isString(value.status) &&
    isBoolean(value.must_change_password) &&
    isBoolean(value.second_factor_enabled) &&
    isBoolean(value.second_factor_required) &&
    arrayOf(value.grants, isGrant)
  );
}

function isSessionInfo(value: unknown): value is SessionInfo {
  return (
    isObject(value) &&
    isUser(value.user) &&
    isString(value.csrf_token) &&
    isBoolean(value.second_factor_pending)
  );
}

function isProfile(value: unknown): value is Profile {
  return (
    isObject(value) &&
    isString(value.code) &&
    isString(value.product) &&
    isString(value.name_fr) &&
    isString(value.name_en) &&
    (value.inherits === null || isString(value.inherits)) &&
    isBoolean(value.strong_authentication) &&
    isStringArray(value.organisation_kinds) &&
    isStringArray(value.permissions)
  );
}

function isOrganisation(value: unknown): value is Organisation {
  return (
    isObject(value) &&
    isNumber(value.id) &&
    (value.parent_id === null || isNumber(value.parent_id)) &&
    isString(value.kind) &&
    isString(value.name) &&
    isString(value.path) &&
    isString(value.environment)
  );
}

function isAuditEntry(value: unknown): value is AuditEntry {
  return (
    isObject(value) &&
    isNumber(value.seq) &&
    isString(value.at) &&
    isString(value.actor_type) &&
    (value.actor_id === null || isNumber(value.actor_id)) &&
    (value.organisation_id === null || isNumber(value.organisation_id)) &&
    isString(value.action) &&
    'before' in value &&
    'after' in value &&
    isBoolean(value.redacted)
  );
}

const listOf =
  <T>(key: string, isItem: (item: unknown) => item is T) =>
  (body: unknown): body is Record<string, T[]> =>
    isObject(body) && arrayOf(body[key], isItem);

const isTotpEnrolment = (body: unknown): body is TotpEnrolment =>
  isObject(body) && isString(body.secret) && isString(body.otpauth_uri) && isString(body.qr_svg);

const isRecoveryCodes = (body: unknown): body is { recovery_codes: string[] } =>
  isObject(body) && isStringArray(body.recovery_codes);

// ---- Calls ---------------------------------------------------------------------------------

// Wrong passwords and codes answer 401 too: those are results to show, not a lost session.
const answerIs401: RequestOptions = { sessionRequired: false };

export const login = (email: string, password: string) =>
  sendJson('POST', '/api/v1/session', { email, password }, isSessionInfo, answerIs401);

export const completeSecondFactor = (code: string) =>
  sendJson('POST', '/api/v1/session/second-factor', { code }, isSessionInfo, answerIs401);

/** Whether the login page offers the OpenID Connect provider, and under which name. */
export interface OidcInfo {
  enabled: boolean;
  display_name: string;
}

const isOidcInfo = (body: unknown): body is OidcInfo =>
  isObject(body) && isBoolean(body.enabled) && isString(body.display_name);

export const getOidc = (signal?: AbortSignal) =>
  getJson('/api/v1/oidc', isOidcInfo, signal, answerIs401);

/**
 * Where the provider button leads: a full page navigation (not a fetch) to the server, which
 * redirects to the provider and, once the person is back, to the login page with `?oidc=1`.
 */
export const oidcLoginUrl = (next: string) =>
  next === '/' ? '/api/v1/oidc/login' : `/api/v1/oidc/login?next=${encodeURIComponent(next)}`;

export const getSession = (signal?: AbortSignal) =>
  getJson('/api/v1/session', isSessionInfo, signal, answerIs401);

export const logout = () => sendEmpty('DELETE', '/api/v1/session', undefined, answerIs401);

export const logoutEverywhere = () => sendEmpty('POST', '/api/v1/session/logout-everywhere');

export const requestPasswordReset = (email: string) =>
  sendEmpty('POST', '/api/v1/password-resets', { email }, answerIs401);

export const confirmPasswordReset = (token: string, newPassword: string) =>
  sendEmpty(
    'POST',
    '/api/v1/password-resets/confirm',
    { token, new_password: newPassword },
    answerIs401,
  );

export const changePassword = (currentPassword: string, newPassword: string) =>
  sendEmpty('PUT', '/api/v1/me/password', {
    current_password: currentPassword,
    new_password: newPassword,
  });

export const startSecondFactor = () =>
  sendJson('POST', '/api/v1/me/second-factor', {}, isTotpEnrolment);

export const confirmSecondFactor = (code: string) =>
  sendJson('POST', '/api/v1/me/second-factor/confirm', { code }, isRecoveryCodes);

export const getProfiles = async (signal?: AbortSignal) =>
  (await getJson('/api/v1/profiles', listOf('profiles', isProfile), signal)).profiles ?? [];

export const getOrganisations = async (signal?: AbortSignal) =>
  (await getJson('/api/v1/organisations', listOf('organisations', isOrganisation), signal))
    .organisations ?? [];

export const listStaff = async (organisationId?: number, signal?: AbortSignal) => {
  const query = organisationId ? `?organisation_id=${organisationId}` : '';
  return (await getJson(`/api/v1/staff${query}`, listOf('staff', isUser), signal)).staff ?? [];
};

export const getStaff = (id: number, signal?: AbortSignal) =>
  getJson(`/api/v1/staff/${id}`, isUser, signal);

export interface NewStaff {
  email: string;
  display_name: string;
  language: string;
  organisation_id: number;
  profiles: string[];
  initial_password?: string;
}

export const createStaff = (staff: NewStaff) => sendJson('POST', '/api/v1/staff', staff, isUser);

export const updateStaff = (
  id: number,
  change: { display_name?: string; language?: string; status?: StaffStatus },
) => sendJson('PATCH', `/api/v1/staff/${id}`, change, isUser);

export const deleteStaff = (id: number) => sendEmpty('DELETE', `/api/v1/staff/${id}`);

export const addGrant = (id: number, organisationId: number, profile: string) =>
  sendJson(
    'POST',
    `/api/v1/staff/${id}/grants`,
    { organisation_id: organisationId, profile },
    isUser,
  );

export const removeGrant = (id: number, grantId: number) =>
  sendJson('DELETE', `/api/v1/staff/${id}/grants/${grantId}`, undefined, isUser);

export const getHistory = async (recordType: string, recordId: number, signal?: AbortSignal) =>
  (
    await getJson(
      `/api/v1/audit/${encodeURIComponent(recordType)}/${recordId}`,
      listOf('entries', isAuditEntry),
      signal,
    )
  ).entries ?? [];

// ---- Derived facts -------------------------------------------------------------------------

/** Strong profiles grant nothing until the authenticator app is set up. */
export const needsEnrolment = (user: User) =>
  user.second_factor_required && !user.second_factor_enabled;

/** Every permission the person may use somewhere (the server checks the organisation). */
export function permissionsOf(user: User, profiles: readonly Profile[]): Set<string> {
  const held = new Set<string>();
  if (user.must_change_password || needsEnrolment(user) || user.status !== 'active') return held;
  for (const grant of user.grants) {
    const profile = profiles.find((candidate) => candidate.code === grant.profile);
    for (const permission of profile?.permissions ?? []) held.add(permission);
  }
  return held;
}

/** Depth of an organisation in the tree from its path ("/1/5/" is 1 under the root). */
export const depthOf = (organisation: Organisation) =>
  Math.max(0, organisation.path.split('/').filter(Boolean).length - 1);
