// Settlement runs, credit-transfer files, reconciliation reports and the offline reports as
// staff and merchants see them. The server side is modules/wallet/settlement_http.cpp,
// reconciliation_http.cpp and offline_http.cpp; docs/settlement.md and docs/offline-sync.md
// explain the figures.
import { getJson, sendJson } from './api';

const isObject = (value: unknown): value is Record<string, unknown> =>
  !!value && typeof value === 'object' && !Array.isArray(value);

const numbers = (body: Record<string, unknown>, keys: readonly string[]) =>
  keys.every((key) => typeof body[key] === 'number');

// ---- Settlement runs ----------------------------------------------------------------------------

/** to_pay: a transfer is due; paid: it went in a transfer file; nothing_to_pay: net ≤ 0. */
export type SettlementState = 'to_pay' | 'paid' | 'nothing_to_pay';
export const settlementStates: readonly SettlementState[] = ['to_pay', 'paid', 'nothing_to_pay'];

/** The columns of a statement, in cents (docs/settlement.md, "How the statement adds up"). */
export interface SettlementFigures {
  debits_cents: number;
  cancellations_cents: number;
  commission_cents: number;
  cash_reloads_cents: number;
  fees_cents: number;
  transactions: number;
}

export interface SettlementRun extends SettlementFigures {
  id: number;
  merchant_id: number;
  seq: number;
  statement_id: string;
  period_start: string;
  period_end: string;
  period_start_ms: number;
  period_end_ms: number;
  commission_bp: number;
  brought_forward_cents: number;
  net_cents: number;
  payable_cents: number;
  carried_forward_cents: number;
  state: SettlementState | string;
  document_version: number;
  statement_sha256: string;
  created_at: string;
  transfer_file_id?: number;
  paid_at?: string;
}

export interface SettlementRunPoint extends SettlementFigures {
  point_id: number;
  label: string;
  location: string;
  net_cents: number;
}

export interface SettlementDocumentVersion {
  version: number;
  generated_at: string;
  statement_sha256: string;
  reason: string;
}

export interface SettlementRunDetail extends SettlementRun {
  points: SettlementRunPoint[];
  document_versions: SettlementDocumentVersion[];
}

const figureKeys = ['debits_cents', 'cancellations_cents', 'commission_cents', 'cash_reloads_cents', 'fees_cents'] as const;

export const isSettlementRun = (body: unknown): body is SettlementRun =>
  isObject(body) &&
  numbers(body, ['id', 'merchant_id', 'seq', 'period_start_ms', 'period_end_ms', 'net_cents', 'payable_cents',
    'carried_forward_cents', 'brought_forward_cents', 'document_version', ...figureKeys]) &&
  typeof body.state === 'string' &&
  typeof body.statement_id === 'string';

const isSettlementRunDetail = (body: unknown): body is SettlementRunDetail =>
  isSettlementRun(body) &&
  Array.isArray((body as unknown as Record<string, unknown>).points) &&
  ((body as unknown as Record<string, unknown>).points as unknown[]).every(
    (point) => isObject(point) && numbers(point, ['point_id', 'net_cents', ...figureKeys]),
  ) &&
  Array.isArray((body as unknown as Record<string, unknown>).document_versions);

export const listSettlements = (merchantId: number | null, signal?: AbortSignal) =>
  getJson(
    merchantId ? `/api/v1/wallet/settlements?merchant_id=${merchantId}` : '/api/v1/wallet/settlements',
    (body): body is { settlements: SettlementRun[] } =>
      isObject(body) && Array.isArray(body.settlements) && body.settlements.every(isSettlementRun),
    signal,
  ).then((body) => body.settlements);

export const getSettlement = (id: number, signal?: AbortSignal) =>
  getJson(`/api/v1/wallet/settlements/${id}`, isSettlementRunDetail, signal);

/** Settles a merchant now, up to now: settlement_not_due (409) before its period has passed. */
export const runSettlement = (merchantId: number) =>
  sendJson('POST', `/api/v1/wallet/merchants/${merchantId}/settlements`, {}, isSettlementRunDetail);

/** A new version of the run's documents; the figures never change. */
export const regenerateSettlement = (id: number, reason: string) =>
  sendJson('POST', `/api/v1/wallet/settlements/${id}/regenerations`, { reason }, isSettlementRunDetail);

/** Where each document of a run is downloaded (the current document version). */
export const settlementLinks = (id: number) => ({
  statementPdf: `/api/v1/wallet/settlements/${id}/documents/statement.pdf`,
  statementXml: `/api/v1/wallet/settlements/${id}/documents/statement.xml`,
  journalCsv: `/api/v1/wallet/settlements/${id}/documents/journal.csv`,
  pointPdf: (pointId: number) => `/api/v1/wallet/settlements/${id}/points/${pointId}/statement.pdf`,
});

export const transferFileLink = (id: number) => `/api/v1/wallet/settlement-transfers/${id}/file`;

export interface TransferBatch {
  id: number;
  message_id: string;
  runs: number;
  total_cents: number;
  created_at: string;
  file: string;
}

const isTransferBatch = (body: unknown): body is TransferBatch =>
  isObject(body) && numbers(body, ['id', 'runs', 'total_cents']) && typeof body.file === 'string' &&
  typeof body.message_id === 'string';

/**
 * One pain.001 file paying the chosen runs (each in scope and to pay, else settlement_not_found or
 * settlement_not_to_pay and nothing is paid), or every run to pay in scope without `runIds`.
 */
export const exportTransfers = (runIds?: number[]) =>
  sendJson('POST', '/api/v1/wallet/settlement-transfers', runIds ? { run_ids: runIds } : {}, isTransferBatch);

/** A run a transfer file paid. */
export interface TransferPaidRun {
  id: number;
  merchant_id: number;
  statement_id: string;
  payable_cents: number;
}

export interface TransferFile extends TransferBatch {
  paid_runs: TransferPaidRun[];
}

export interface TransferFilePage {
  transfer_files: TransferFile[];
  /** The `before` of the next (older) page; null on the last one. */
  next_before: number | null;
}

export const transferPageSize = 20;

/** Transfer files in scope, newest first, a page at a time. */
export const listTransferFiles = (before: number | null, signal?: AbortSignal) =>
  getJson(
    `/api/v1/wallet/settlement-transfers?limit=${transferPageSize}${before ? `&before=${before}` : ''}`,
    (body): body is TransferFilePage =>
      isObject(body) &&
      Array.isArray(body.transfer_files) &&
      body.transfer_files.every(
        (file) => isTransferBatch(file) && Array.isArray((file as unknown as Record<string, unknown>).paid_runs),
      ) &&
      (body.next_before === null || typeof body.next_before === 'number'),
    signal,
  );

// ---- Reconciliation -----------------------------------------------------------------------------

export interface ReconciliationLine {
  point_txn_id: string;
  operation: string;
  counter: string;
  amount: number;
  state: string;
  at_ms: number;
}

export interface ReconciliationPair {
  point_txn_id: string;
  point: ReconciliationLine;
  service: ReconciliationLine;
  differences: string[];
}

/** Per counter and operation on one side: acknowledged ones (count, amount) and all states. */
export interface ReconciliationTotal {
  counter: string;
  operation: string;
  acknowledged_count: number;
  acknowledged_amount: number;
  count: number;
}

export interface Reconciliation {
  id: number;
  report_id: string;
  point_id: number;
  merchant_id: number;
  source: 'point' | 'schedule' | 'staff' | string;
  range_start_ms: number;
  range_end_ms: number;
  generated_at: string;
  reconciled: boolean;
  matched: number;
  differing: ReconciliationPair[];
  missing_at_service: ReconciliationLine[];
  missing_at_point: ReconciliationLine[];
  point_totals: ReconciliationTotal[];
  service_totals: ReconciliationTotal[];
  /** One report only (not in lists): the first matched lines, and whether there are more. */
  matched_lines?: ReconciliationPair[];
  matched_lines_truncated?: boolean;
  links: { pdf: string; xml: string };
}

export const isReconciliation = (body: unknown): body is Reconciliation =>
  isObject(body) &&
  numbers(body, ['id', 'point_id', 'range_start_ms', 'range_end_ms', 'matched']) &&
  typeof body.reconciled === 'boolean' &&
  Array.isArray(body.differing) &&
  Array.isArray(body.missing_at_service) &&
  Array.isArray(body.missing_at_point) &&
  Array.isArray(body.point_totals) &&
  Array.isArray(body.service_totals) &&
  isObject(body.links);

export const listPointReconciliations = (pointId: number, signal?: AbortSignal) =>
  getJson(
    `/api/v1/wallet/points/${pointId}/reconciliations`,
    (body): body is { reconciliations: Reconciliation[] } =>
      isObject(body) && Array.isArray(body.reconciliations) && body.reconciliations.every(isReconciliation),
    signal,
  ).then((body) => body.reconciliations);

export const getReconciliation = (id: number, signal?: AbortSignal) =>
  getJson(`/api/v1/wallet/reconciliations/${id}`, isReconciliation, signal);

/** Reconciles a point over [start, end) from the lists it uploaded (reconciliation_no_upload otherwise). */
export const reconcilePoint = (pointId: number, rangeStartMs: number, rangeEndMs: number) =>
  sendJson(
    'POST',
    `/api/v1/wallet/points/${pointId}/reconciliations`,
    { range_start_ms: rangeStartMs, range_end_ms: rangeEndMs },
    isReconciliation,
  );

export interface ReconciliationSchedule {
  merchant_id: number;
  enabled: boolean;
  hour: number;
  last_run_day: string;
}

const isReconciliationSchedule = (body: unknown): body is ReconciliationSchedule =>
  isObject(body) && typeof body.enabled === 'boolean' && typeof body.hour === 'number' &&
  typeof body.last_run_day === 'string';

export const setReconciliationSchedule = (merchantId: number, enabled: boolean, hour: number) =>
  sendJson(
    'PUT',
    `/api/v1/wallet/merchants/${merchantId}/reconciliation-schedule`,
    { enabled, hour },
    isReconciliationSchedule,
  );

/** The merchant's schedule: never set reads as disabled at hour 0; last_run_day "" when it never ran. */
export const getReconciliationSchedule = (merchantId: number, signal?: AbortSignal) =>
  getJson(`/api/v1/wallet/merchants/${merchantId}/reconciliation-schedule`, isReconciliationSchedule, signal);

// ---- Offline ------------------------------------------------------------------------------------

export interface AwaitingPayment {
  event_id: number;
  device_id: number;
  seq: number;
  point_txn_id: string;
  counter: string;
  amount: number;
  holder_id: number;
  at_ms: number;
  attempts: number;
  point_id?: number;
  point_location?: string;
  support_number?: string;
  last_try_at_ms?: number;
  next_try_at_ms?: number;
}

const isAwaitingPayment = (body: unknown): body is AwaitingPayment =>
  isObject(body) && numbers(body, ['event_id', 'seq', 'amount', 'at_ms', 'attempts']) &&
  typeof body.point_txn_id === 'string';

export interface OfflineBatch {
  batch_id: string;
  first_seq: number;
  last_seq: number;
  received_at_ms: number;
}

/** An offline event the service refused, with the code the device got. */
export interface RefusedEvent {
  event_id: number;
  device_id: number;
  seq: number;
  kind: string;
  at_ms: number;
  code: string;
}

export interface PointOfflineReport {
  point_id: number;
  device_id?: number;
  last_seq?: number;
  events_by_state: Record<string, number>;
  batches: OfflineBatch[];
  waiting: AwaitingPayment[];
  /** The latest refused events of every device the point had, newest first (at most 50). */
  refused: RefusedEvent[];
}

export const refusedListMax = 50;

export const getPointOfflineReport = (pointId: number, signal?: AbortSignal) =>
  getJson(
    `/api/v1/wallet/points/${pointId}/offline-report`,
    (body): body is PointOfflineReport =>
      isObject(body) &&
      isObject(body.events_by_state) &&
      Array.isArray(body.batches) &&
      Array.isArray(body.waiting) &&
      body.waiting.every(isAwaitingPayment) &&
      Array.isArray(body.refused) &&
      body.refused.every((event) => isObject(event) && numbers(event, ['seq', 'at_ms']) &&
        typeof event.kind === 'string' && typeof event.code === 'string'),
    signal,
  );

export const listAwaitingFunds = (merchantId: number, signal?: AbortSignal) =>
  getJson(
    `/api/v1/wallet/merchants/${merchantId}/awaiting-funds`,
    (body): body is { payments: AwaitingPayment[] } =>
      isObject(body) && Array.isArray(body.payments) && body.payments.every(isAwaitingPayment),
    signal,
  ).then((body) => body.payments);

// ---- Rights (modules/wallet/settlement.h, reconciliation.h) -------------------------------------

export const settlementRight = {
  read: 'wallet.settlements.read',
  manage: 'wallet.settlements.manage',
  reconciliations: 'wallet.reconciliations.manage',
} as const;

export const settlementLimits = { reasonLengthMax: 500, reconciliationRangeDaysMax: 31 } as const;

// ---- Display ------------------------------------------------------------------------------------

/** A time in Paris (the service's civil time), whatever the browser's zone: "29 nov. 2026, 14:05". */
export const formatParis = (at: string | number, lang: 'fr' | 'en') =>
  new Intl.DateTimeFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'Europe/Paris',
  }).format(new Date(at));
