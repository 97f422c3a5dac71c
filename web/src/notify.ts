// The messages API as the screens use it: webhook endpoints and their delivery log, web push
// subscriptions, and the addresses found bad (delivery side).
import { getJson, sendEmpty, sendJson } from './api';

const isObject = (value: unknown): value is Record<string, unknown> =>
  !!value && typeof value === 'object' && !Array.isArray(value);

const itemsOf =
  <T>(isItem: (value: unknown) => value is T) =>
  (body: unknown): body is { items: T[] } =>
    isObject(body) && Array.isArray(body.items) && body.items.every(isItem);

// ---- Webhooks ------------------------------------------------------------------------------

export interface WebhookEndpoint {
  id: number;
  organisation_id: number;
  url: string;
  description: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
  /** Only in the answer that creates the endpoint or rotates its secret. */
  secret?: string;
}

export function isWebhookEndpoint(value: unknown): value is WebhookEndpoint {
  return (
    isObject(value) &&
    typeof value.id === 'number' &&
    typeof value.organisation_id === 'number' &&
    typeof value.url === 'string' &&
    typeof value.description === 'string' &&
    Array.isArray(value.event_types) &&
    value.event_types.every((type) => typeof type === 'string') &&
    typeof value.enabled === 'boolean' &&
    (value.disabled_reason === null || typeof value.disabled_reason === 'string')
  );
}

export interface WebhookEventType {
  name: string;
  description: string;
}

const isEventType = (value: unknown): value is WebhookEventType =>
  isObject(value) && typeof value.name === 'string' && typeof value.description === 'string';

export interface WebhookAttempt {
  attempt: number;
  at: string;
  outcome: string;
  status_code: number | null;
  response_excerpt: string;
  duration_ms: number;
}

export interface WebhookDelivery {
  message_id: number;
  endpoint_id: number;
  event_type: string;
  webhook_id: string;
  replay_of: number | null;
  state: string;
  created_at: string;
  attempts: WebhookAttempt[];
}

export function isWebhookDelivery(value: unknown): value is WebhookDelivery {
  return (
    isObject(value) &&
    typeof value.message_id === 'number' &&
    typeof value.event_type === 'string' &&
    typeof value.state === 'string' &&
    typeof value.created_at === 'string' &&
    Array.isArray(value.attempts)
  );
}

export interface WebhookInput {
  url: string;
  description: string;
  event_types: string[];
  enabled: boolean;
}

export const listWebhookEventTypes = async (signal?: AbortSignal) =>
  (await getJson('/api/v1/notify/webhook-event-types', itemsOf(isEventType), signal)).items;
export const listWebhooks = async (signal?: AbortSignal) =>
  (await getJson('/api/v1/notify/webhooks', itemsOf(isWebhookEndpoint), signal)).items;
export const getWebhook = (id: number, signal?: AbortSignal) =>
  getJson(`/api/v1/notify/webhooks/${id}`, isWebhookEndpoint, signal);
export const createWebhook = (organisationId: number, input: WebhookInput) =>
  sendJson('POST', `/api/v1/organisations/${organisationId}/webhooks`, input, isWebhookEndpoint);
export const updateWebhook = (id: number, input: WebhookInput) =>
  sendJson('PUT', `/api/v1/notify/webhooks/${id}`, input, isWebhookEndpoint);
export const deleteWebhook = (id: number) => sendEmpty('DELETE', `/api/v1/notify/webhooks/${id}`);
export const rotateWebhookSecret = (id: number) =>
  sendJson('POST', `/api/v1/notify/webhooks/${id}/rotate-secret`, undefined, isWebhookEndpoint);
export const testWebhook = (id: number) =>
  sendJson(
    'POST',
    `/api/v1/notify/webhooks/${id}/test`,
    undefined,
    (body: unknown): body is { message_id: number } => isObject(body) && typeof body.message_id === 'number',
  );
export const listWebhookDeliveries = async (id: number, signal?: AbortSignal) =>
  (await getJson(`/api/v1/notify/webhooks/${id}/deliveries`, itemsOf(isWebhookDelivery), signal)).items;
export const replayWebhookDelivery = (messageId: number) =>
  sendJson('POST', `/api/v1/notify/webhook-deliveries/${messageId}/replay`, undefined, isWebhookDelivery);

// ---- Web push ------------------------------------------------------------------------------

export const getVapidPublicKey = async (signal?: AbortSignal) =>
  (
    await getJson(
      '/api/v1/notify/push/vapid-public-key',
      (body: unknown): body is { public_key: string } => isObject(body) && typeof body.public_key === 'string',
      signal,
    )
  ).public_key;

export interface StoredPushSubscription {
  id: number;
  endpoint: string;
  created_at: string;
}
const isStoredSubscription = (value: unknown): value is StoredPushSubscription =>
  isObject(value) && typeof value.id === 'number' && typeof value.endpoint === 'string';

export const listPushSubscriptions = async (signal?: AbortSignal) =>
  (await getJson('/api/v1/notify/push/subscriptions', itemsOf(isStoredSubscription), signal)).items;
export const savePushSubscription = (subscription: PushSubscriptionJSON) =>
  sendJson('POST', '/api/v1/notify/push/subscriptions', subscription, isStoredSubscription);
export const removePushSubscription = (endpoint: string) =>
  sendEmpty('POST', '/api/v1/notify/push/unsubscribe', { endpoint });

// ---- Bad addresses (delivery) --------------------------------------------------------------

export interface BadAddress {
  id: number;
  channel: string;
  address: string;
  organisation_id: number | null;
  reason: string;
  source: string;
  message_id: number | null;
  status_code: number | null;
  created_at: string;
  cleared_at: string | null;
  corrected_to: string | null;
}

export function isBadAddress(value: unknown): value is BadAddress {
  return (
    isObject(value) &&
    typeof value.id === 'number' &&
    typeof value.channel === 'string' &&
    typeof value.address === 'string' &&
    typeof value.reason === 'string' &&
    typeof value.source === 'string' &&
    typeof value.created_at === 'string'
  );
}

export const listBadAddresses = async (signal?: AbortSignal) =>
  (await getJson('/api/v1/notify/bad-addresses', itemsOf(isBadAddress), signal)).items;
export const clearBadAddress = (id: number, correctedTo: string) =>
  sendJson(
    'POST',
    `/api/v1/notify/bad-addresses/${id}/clear`,
    correctedTo ? { corrected_to: correctedTo } : {},
    isBadAddress,
  );
