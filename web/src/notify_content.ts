// The content side of messages (templates, preferences, unsubscribe, campaigns, history) as
// the screens use it; the server side is platform/notify/notify_http.cpp.
import { getJson, sendEmpty, sendJson } from './api';

const isObject = (value: unknown): value is Record<string, unknown> =>
  !!value && typeof value === 'object' && !Array.isArray(value);
const itemsOf =
  <T>(isItem: (value: unknown) => value is T) =>
  (body: unknown): body is { items: T[] } =>
    isObject(body) && Array.isArray(body.items) && body.items.every(isItem);
const hasString = (value: Record<string, unknown>, ...keys: string[]) =>
  keys.every((key) => typeof value[key] === 'string');

// ---- Preferences and unsubscribe -----------------------------------------------------------

export type Frequency = 'each' | 'daily' | 'weekly';

export interface ChannelChoice {
  purpose: string;
  channel: string;
  granted: boolean;
  mandatory: boolean;
}

export interface MessagePreferences {
  alert_frequency: Frequency;
  low_balance_threshold_cents: number | null;
  channels: ChannelChoice[];
}

export function isPreferences(body: unknown): body is MessagePreferences {
  return (
    isObject(body) &&
    ['each', 'daily', 'weekly'].includes(body.alert_frequency as string) &&
    (body.low_balance_threshold_cents === null || typeof body.low_balance_threshold_cents === 'number') &&
    Array.isArray(body.channels)
  );
}

/** Where one's preferences are read and written: staff and wallet holders have their own routes. */
export interface PreferencesApi {
  get: (signal?: AbortSignal) => Promise<MessagePreferences>;
  set: (change: { alert_frequency: Frequency; low_balance_threshold_cents: number | null }) => Promise<MessagePreferences>;
  consent: (purpose: string, channel: string, granted: boolean, wording: string) => Promise<void>;
}

export const getMyPreferences = (signal?: AbortSignal) =>
  getJson('/api/v1/me/notify/preferences', isPreferences, signal);
export const setMyPreferences = (change: { alert_frequency: Frequency; low_balance_threshold_cents: number | null }) =>
  sendJson('PUT', '/api/v1/me/notify/preferences', change, isPreferences);
export const recordMyConsent = (purpose: string, channel: string, granted: boolean, wording: string) =>
  sendEmpty('POST', '/api/v1/me/consents', { purpose, channel, granted, wording, wording_version: 'messages-1' });

export const staffPreferencesApi: PreferencesApi = {
  get: getMyPreferences, set: setMyPreferences, consent: recordMyConsent,
};
export const holderPreferencesApi: PreferencesApi = {
  get: (signal) => getJson('/api/v1/wallet/me/message-preferences', isPreferences, signal, { sessionRequired: false }),
  set: (change) => sendJson('PUT', '/api/v1/wallet/me/message-preferences', change, isPreferences, { sessionRequired: false }),
  consent: (purpose, channel, granted, wording) =>
    sendEmpty('POST', '/api/v1/wallet/me/message-consents',
      { purpose, channel, granted, wording, wording_version: 'messages-1' }, { sessionRequired: false }),
};

export interface UnsubscribeView {
  display_name: string;
  purpose: string;
  channel: string;
  granted: boolean;
  already_unsubscribed: boolean;
}
const isUnsubscribeView = (body: unknown): body is UnsubscribeView =>
  isObject(body) && hasString(body, 'purpose', 'channel') && typeof body.granted === 'boolean';

const unsubscribePath = (token: string) => `/api/v1/notify/unsubscribe?token=${encodeURIComponent(token)}`;
export const describeUnsubscribe = (token: string, signal?: AbortSignal) =>
  getJson(unsubscribePath(token), isUnsubscribeView, signal, { sessionRequired: false });
export const confirmUnsubscribe = (token: string) =>
  sendJson('POST', unsubscribePath(token), {}, isObject, { sessionRequired: false });

// ---- Templates -----------------------------------------------------------------------------

export interface TemplateVariable {
  name: string;
  kind: string;
  description: string;
}
export interface TemplateCode {
  code: string;
  description: string;
  purpose: string;
  variables: TemplateVariable[];
}
const isTemplateCode = (value: unknown): value is TemplateCode =>
  isObject(value) && hasString(value, 'code', 'description', 'purpose') && Array.isArray(value.variables);

export interface StoredTemplate {
  code: string;
  language: 'fr' | 'en';
  source: 'builtin' | 'inherited' | 'own';
  organisation_id: number | null;
  subject: string;
  text: string;
  html: string;
  updated_at: string | null;
}
const isStoredTemplate = (value: unknown): value is StoredTemplate =>
  isObject(value) && hasString(value, 'code', 'language', 'source', 'subject', 'text', 'html');

export interface Rendered {
  subject: string;
  text: string;
  html: string;
}
const isRendered = (value: unknown): value is Rendered => isObject(value) && hasString(value, 'subject', 'text', 'html');

export const listTemplateCodes = async (signal?: AbortSignal) =>
  (await getJson('/api/v1/notify/template-codes', itemsOf(isTemplateCode), signal)).items;
export const listTemplates = async (organisationId: number, signal?: AbortSignal) =>
  (await getJson(`/api/v1/organisations/${organisationId}/notify/templates`, itemsOf(isStoredTemplate), signal)).items;
const templatePath = (organisationId: number, code: string, language: string) =>
  `/api/v1/organisations/${organisationId}/notify/templates/${encodeURIComponent(code)}/${language}`;
export const getTemplate = (organisationId: number, code: string, language: string, signal?: AbortSignal) =>
  getJson(templatePath(organisationId, code, language), isStoredTemplate, signal);
export const saveTemplate = (organisationId: number, code: string, language: string, body: Rendered) =>
  sendJson('PUT', templatePath(organisationId, code, language), body, isStoredTemplate);
export const resetTemplate = (organisationId: number, code: string, language: string) =>
  sendEmpty('DELETE', templatePath(organisationId, code, language));
export const previewTemplate = (organisationId: number, body: Rendered & { code: string; language: string }) =>
  sendJson('POST', `/api/v1/organisations/${organisationId}/notify/templates/preview`, body, isRendered);

// ---- Campaigns -----------------------------------------------------------------------------

export interface AudienceCriterion {
  name: string;
  kind: string;
  description: string;
}
export interface Audience {
  person_type: string;
  criteria: AudienceCriterion[];
}
const isAudience = (value: unknown): value is Audience =>
  isObject(value) && typeof value.person_type === 'string' && Array.isArray(value.criteria);

export interface Campaign {
  id: number;
  organisation_id: number;
  name: string;
  template_code: string;
  purpose: string;
  channel: string;
  state: 'draft' | 'scheduled' | 'sending' | 'sent' | 'cancelled';
  scheduled_at: string | null;
  audience_count: number | null;
  created_at: string;
}
export const isCampaign = (value: unknown): value is Campaign =>
  isObject(value) && typeof value.id === 'number' && hasString(value, 'name', 'template_code', 'state');

export interface CampaignStats {
  audience: number;
  queued: number;
  sent: number;
  delivered: number;
  failed: number;
  bounced: number;
  suppressed: number;
  opened: number;
}
const isStats = (value: unknown): value is CampaignStats =>
  isObject(value) && ['audience', 'queued', 'sent', 'failed'].every((key) => typeof value[key] === 'number');

export interface CampaignDraft {
  organisation_id: number;
  name: string;
  template_code: string;
  channel: 'email' | 'sms';
  audience: { person_type: string; criteria: Record<string, string | number> };
  variables: Record<string, string>;
}

export const listAudiences = async (signal?: AbortSignal) =>
  (await getJson('/api/v1/notify/audiences', itemsOf(isAudience), signal)).items;
export const listCampaigns = async (signal?: AbortSignal) =>
  (await getJson('/api/v1/notify/campaigns', itemsOf(isCampaign), signal)).items;
export const createCampaign = (draft: CampaignDraft) => sendJson('POST', '/api/v1/notify/campaigns', draft, isCampaign);
/** Sends now, or at `atMs` (epoch milliseconds). */
export const scheduleCampaign = (id: number, atMs?: number) =>
  sendJson('POST', `/api/v1/notify/campaigns/${id}/schedule`, atMs ? { at_ms: atMs } : {}, isCampaign);
export const cancelCampaign = (id: number) =>
  sendJson('POST', `/api/v1/notify/campaigns/${id}/cancel`, undefined, isCampaign);
export const getCampaignStats = (id: number, signal?: AbortSignal) =>
  getJson(`/api/v1/notify/campaigns/${id}/stats`, isStats, signal);

// ---- A person's history --------------------------------------------------------------------

export interface HistoryItem {
  id: number;
  channel: string;
  recipient: string;
  template_code: string;
  purpose: string;
  state: string;
  attempts: number;
  created_at: string;
  sent_at: string | null;
  opened_at: string | null;
  last_error: string | null;
}
export interface History {
  items: HistoryItem[];
  digest_items: { id: number; template_code: string; created_at: string; state: string }[];
}
const isHistory = (value: unknown): value is History =>
  isObject(value) && Array.isArray(value.items) && Array.isArray(value.digest_items);

export const getPersonHistory = (type: string, id: number, signal?: AbortSignal) =>
  getJson(`/api/v1/notify/people/${encodeURIComponent(type)}/${id}/messages`, isHistory, signal);
