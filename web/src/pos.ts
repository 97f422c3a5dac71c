// The acceptance network as staff see it: merchants, points of sale, their history and
// transactions, and an admin's test account. The server side is modules/wallet/pos_http.cpp;
// docs/pos-protocol.md describes the points' own protocol.
import { getJson, sendJson } from './api';

const isObject = (value: unknown): value is Record<string, unknown> =>
  !!value && typeof value === 'object' && !Array.isArray(value);

// ---- Shapes -------------------------------------------------------------------------------------

export interface Merchant {
  id: number;
  region_id: number;
  name: string;
  iban_last4: string;
  bic: string;
  contact_email: string;
  commission_bp: number;
  settlement_period_days: number;
  created_at: string;
}

export const isMerchant = (body: unknown): body is Merchant =>
  isObject(body) &&
  typeof body.id === 'number' &&
  typeof body.name === 'string' &&
  typeof body.iban_last4 === 'string' &&
  typeof body.commission_bp === 'number' &&
  typeof body.settlement_period_days === 'number';

export type PointState = 'pending' | 'approved' | 'opposed';

export interface Point {
  id: number;
  merchant_id: number;
  institution_org_id: number;
  institution_id: string;
  location: string;
  address: string;
  type: string;
  permissions: string[];
  is_test: boolean;
  state: PointState | string;
  paired: boolean;
  device_id?: number;
  created_at: string;
  updated_at: string;
}

export const isPoint = (body: unknown): body is Point =>
  isObject(body) &&
  typeof body.id === 'number' &&
  typeof body.merchant_id === 'number' &&
  typeof body.institution_id === 'string' &&
  typeof body.location === 'string' &&
  typeof body.state === 'string' &&
  Array.isArray(body.permissions);

export interface PointEvent {
  id: number;
  event: string;
  actor_type: string;
  actor_id?: number;
  reason?: string;
  at: string;
}

export interface PointDetail extends Point {
  events: PointEvent[];
}

const isPointDetail = (body: unknown): body is PointDetail =>
  isPoint(body) &&
  Array.isArray((body as unknown as Record<string, unknown>).events) &&
  ((body as unknown as Record<string, unknown>).events as unknown[]).every(
    (event) => isObject(event) && typeof event.event === 'string' && typeof event.at === 'string',
  );

export interface PosTransaction {
  id: number;
  point_id: number;
  merchant_id: number;
  point_txn_id: string;
  operation: string;
  counter: string;
  amount: number;
  state: string;
  offline: boolean;
  is_test: boolean;
  point_at_ms: number;
  received_at_ms: number;
  refusal_code?: string;
  holder_id?: number;
  acknowledged_at_ms?: number;
  cancels_id?: number;
}

const isTransaction = (body: unknown): body is PosTransaction =>
  isObject(body) &&
  typeof body.id === 'number' &&
  typeof body.operation === 'string' &&
  typeof body.amount === 'number' &&
  typeof body.state === 'string';

export interface Pairing {
  code: string;
  expires_at: string;
  qr_svg?: string;
}

export interface Approval {
  point: Point;
  pairing: Pairing;
}

const isApproval = (body: unknown): body is Approval =>
  isObject(body) &&
  isPoint(body.point) &&
  isObject(body.pairing) &&
  typeof body.pairing.code === 'string' &&
  typeof body.pairing.expires_at === 'string';

export interface CounterBalance {
  counter: string;
  euro: boolean;
  balance: number;
  available: number;
}

export interface TestAccount {
  holder_id: number;
  support_number: string;
  balances: CounterBalance[];
}

const isTestAccount = (body: unknown): body is TestAccount =>
  isObject(body) &&
  typeof body.support_number === 'string' &&
  Array.isArray(body.balances) &&
  body.balances.every((item) => isObject(item) && typeof item.counter === 'string' && typeof item.balance === 'number');

// ---- Calls ----------------------------------------------------------------------------------------

export interface NewMerchant {
  region_id: number;
  name: string;
  iban: string;
  bic: string;
  commission_bp: number;
  settlement_period_days: number;
  contact_email: string;
}

export const listMerchants = (signal?: AbortSignal) =>
  getJson(
    '/api/v1/wallet/merchants',
    (body): body is { merchants: Merchant[] } =>
      isObject(body) && Array.isArray(body.merchants) && body.merchants.every(isMerchant),
    signal,
  ).then((body) => body.merchants);

export const getMerchant = (id: number, signal?: AbortSignal) =>
  getJson(`/api/v1/wallet/merchants/${id}`, isMerchant, signal);

export const createMerchant = (merchant: NewMerchant) =>
  sendJson('POST', '/api/v1/wallet/merchants', merchant, isMerchant);

export interface NewPoint {
  merchant_id: number;
  institution_id: string;
  location: string;
  address: string;
  type: string;
  permissions: string[];
  is_test: boolean;
}

export const listPoints = (signal?: AbortSignal) =>
  getJson(
    '/api/v1/wallet/points',
    (body): body is { points: Point[] } => isObject(body) && Array.isArray(body.points) && body.points.every(isPoint),
    signal,
  ).then((body) => body.points);

export const getPoint = (id: number, signal?: AbortSignal) =>
  getJson(`/api/v1/wallet/points/${id}`, isPointDetail, signal);

export const listPointTransactions = (id: number, signal?: AbortSignal) =>
  getJson(
    `/api/v1/wallet/points/${id}/transactions`,
    (body): body is { transactions: PosTransaction[] } =>
      isObject(body) && Array.isArray(body.transactions) && body.transactions.every(isTransaction),
    signal,
  ).then((body) => body.transactions);

export const createPoint = (point: NewPoint) => sendJson('POST', '/api/v1/wallet/points', point, isPoint);

export const approvePoint = (id: number) => sendJson('POST', `/api/v1/wallet/points/${id}/approve`, {}, isApproval);

export const replacePointDevice = (id: number, reason: string) =>
  sendJson('POST', `/api/v1/wallet/points/${id}/pairings`, { reason }, isApproval);

export const opposePoint = (id: number, reason: string) =>
  sendJson('POST', `/api/v1/wallet/points/${id}/opposition`, { reason }, isPoint);

export const reactivatePoint = (id: number, reason: string) =>
  sendJson('POST', `/api/v1/wallet/points/${id}/reactivation`, { reason }, isPoint);

export const cancelPosTransaction = (id: number, reason: string) =>
  sendJson('POST', `/api/v1/wallet/pos-transactions/${id}/cancellation`, { reason }, isTransaction);

/** One's own test account, made on the first call (hence a POST even to read it). */
export const getTestAccount = () => sendJson('POST', '/api/v1/wallet/pos/test-account', {}, isTestAccount);

export const creditTestAccount = (amount: number) =>
  sendJson('POST', '/api/v1/wallet/pos/test-account/credits', { amount }, isTestAccount);

// ---- Rights, types and permissions (modules/wallet/pos.h) -----------------------------------------

export const posRight = {
  merchantsManage: 'wallet.merchants.manage',
  pointsRead: 'wallet.points.read',
  pointsManage: 'wallet.points.manage',
  pointsApprove: 'wallet.points.approve',
  pointsOppose: 'wallet.points.oppose',
  testAccount: 'wallet.pos.test_account',
} as const;

export const pointTypes = ['till', 'vending_machine', 'laundry', 'copier', 'web_shop', 'other'] as const;
export const pointStates = ['pending', 'approved', 'opposed'] as const;
export const pointPermissions = [
  'create_holders', 'clock_check', 'download_base', 'cash_reload', 'debit', 'reconciliation', 'offline', 'cancel',
] as const;

// Reading what people type and showing amounts: wallet/pos_input.ts (self-contained, tested alone).
export * from './wallet/pos_input';
