// The web till's device side: its Ed25519 key (WebCrypto, private key non-extractable, kept in
// IndexedDB), signed requests exactly as docs/pos-protocol.md §2 says, the three-phase payment,
// and the offline queue uploaded as one signed batch (docs/offline-sync.md §2). The command-line
// simulator (tools/pos-sim/lib.mjs) does the same in Node; the two must stay byte-compatible.
import { toBase64Url, verifyQrOffline, type QrServiceKey, type QrVerdict } from '../wallet/qr_phone';

export const OPPOSITIONS_FEED = 'wallet.oppositions';
export const REVOKED_PHONES_FEED = 'wallet.qr_revoked_phones';
/** Events in one batch, at most (docs/offline-sync.md). */
export const BATCH_EVENTS_MAX = 500;
const FEED_PAGE_ITEMS = 1000;
const REQUEST_TIMEOUT_MS = 10_000;

export interface Device {
  deviceId: number;
  privateKey: CryptoKey;
  publicKey: string;
  txnPrefix: string;
  nextTxn: number;
  nextSeq: number;
}

export interface OfflineEvent {
  seq: number;
  kind: string;
  at_ms: number;
  payload: Record<string, string | number>;
}

export interface Outcome {
  seq: number;
  kind: string;
  state: 'applied' | 'refused' | 'waiting' | 'received' | 'abandoned';
  code?: string;
}

export interface Feed {
  cursor: string;
  items: Record<string, unknown>;
}

export interface QrKey {
  keys: QrServiceKey[];
  lifetime_s: number;
}

/** A refusal by the service (its `code`) or by the till itself offline (`local`). */
export class TillRefusal extends Error {
  constructor(readonly code: string, readonly status: number, readonly detail = '', readonly local = false) {
    super(code);
  }
}

/** The network or the service could not be reached. */
export class TillOffline extends Error {}

// ---- IndexedDB: one key-value store ---------------------------------------------------------------

const dbName = 'guichet-till';
const storeName = 'kv';
let dbPromise: Promise<IDBDatabase> | null = null;

function db(): Promise<IDBDatabase> {
  dbPromise ??= new Promise((resolve, reject) => {
    const open = indexedDB.open(dbName, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(storeName);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  return dbPromise;
}

async function get<T>(key: string): Promise<T | undefined> {
  const database = await db();
  return new Promise((resolve, reject) => {
    const request = database.transaction(storeName).objectStore(storeName).get(key);
    request.onsuccess = () => resolve(request.result as T | undefined);
    request.onerror = () => reject(request.error);
  });
}

async function put(key: string, value: unknown): Promise<void> {
  const database = await db();
  return new Promise((resolve, reject) => {
    const transaction = database.transaction(storeName, 'readwrite');
    transaction.objectStore(storeName).put(value, key);
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
  });
}

export const loadDevice = () => get<Device>('device');
export const loadQueue = async () => (await get<OfflineEvent[]>('queue')) ?? [];
export const loadOutcomes = async () => (await get<Outcome[]>('outcomes')) ?? [];
const loadFeed = async (name: string) => (await get<Feed>(`feed:${name}`)) ?? { cursor: '', items: {} };

// ---- Signing ---------------------------------------------------------------------------------------

const encoder = new TextEncoder();

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function signText(device: Device, text: string): Promise<string> {
  const signature = await crypto.subtle.sign('Ed25519', device.privateKey, encoder.encode(text));
  return toBase64Url(new Uint8Array(signature));
}

/** RFC 8785 canonical JSON restricted to integers (docs/offline-sync.md). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    return `{${Object.keys(object).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function batchSigningString(batch: { device_id: number; batch_id: string; events: OfflineEvent[] }): string {
  let text = `guichet-sync-batch-v1\n${batch.device_id}\n${batch.batch_id}\n${batch.events.length}\n`;
  for (const e of batch.events) text += `${e.seq}\n${e.kind}\n${e.at_ms}\n${canonicalJson(e.payload)}\n`;
  return text;
}

// ---- Requests --------------------------------------------------------------------------------------

interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
}

async function fetchJson(method: string, target: string, body: string | undefined, headers: Record<string, string>): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(target, {
      method, headers: { Accept: 'application/json', ...headers }, body: body ?? null,
      credentials: 'omit', cache: 'no-store', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch {
    throw new TillOffline();
  }
  if (response.status >= 502 && response.status <= 504) throw new TillOffline();
  let parsed: unknown;
  try {
    parsed = await response.json();
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined };
}

/** A signed device request: METHOD\nPATH_AND_QUERY\nTIMESTAMP\nhex(SHA-256(BODY)). */
async function call(device: Device, method: string, target: string, json?: unknown): Promise<Answer> {
  const body = json === undefined ? '' : JSON.stringify(json);
  const timestamp = String(Date.now());
  const signature = await signText(device, `${method}\n${target}\n${timestamp}\n${await sha256Hex(body)}`);
  const headers: Record<string, string> = {
    'X-Device-Id': String(device.deviceId), 'X-Device-Timestamp': timestamp, 'X-Device-Signature': signature,
  };
  if (json !== undefined) headers['Content-Type'] = 'application/json';
  return fetchJson(method, target, json === undefined ? undefined : body, headers);
}

async function expect(device: Device, method: string, target: string, json: unknown, ok: number[]) {
  const answer = await call(device, method, target, json);
  if (ok.includes(answer.status)) return answer.body ?? {};
  const code = typeof answer.body?.code === 'string' ? answer.body.code : `http_${answer.status}`;
  const detail = typeof answer.body?.detail === 'string' ? answer.body.detail : '';
  throw new TillRefusal(code, answer.status, detail);
}

// ---- Pairing, clock, payment -----------------------------------------------------------------------

/** Pairs this browser: a new key pair whose private half can never be read back out. */
export async function pair(code: string): Promise<Device> {
  const keys = (await crypto.subtle.generateKey('Ed25519', false, ['sign', 'verify'])) as CryptoKeyPair;
  const publicKey = toBase64Url(new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey)));
  const answer = await fetchJson('POST', '/api/v1/devices/pair', JSON.stringify({ code: code.trim().toUpperCase(), public_key: publicKey }),
    { 'Content-Type': 'application/json' });
  if (answer.status !== 201 || typeof answer.body?.device_id !== 'number') {
    throw new TillRefusal(typeof answer.body?.code === 'string' ? answer.body.code : `http_${answer.status}`, answer.status);
  }
  const random = Array.from(crypto.getRandomValues(new Uint8Array(3)), (b) => b.toString(16).padStart(2, '0')).join('');
  const device: Device = {
    deviceId: answer.body.device_id, privateKey: keys.privateKey, publicKey,
    txnPrefix: `W${answer.body.device_id}-${random}`, nextTxn: 1, nextSeq: 1,
  };
  await put('device', device);
  await put('queue', []);
  await put('outcomes', []);
  return device;
}

/** Forgets the pairing (a new one is needed to take payments again). */
export async function unpair(): Promise<void> {
  for (const key of ['device', 'queue', 'outcomes', 'pending-acks', `feed:${OPPOSITIONS_FEED}`, `feed:${REVOKED_PHONES_FEED}`, 'qr-key']) {
    await put(key, undefined);
  }
}

async function nextTxnId(device: Device): Promise<string> {
  const id = `${device.txnPrefix}-${device.nextTxn}`;
  device.nextTxn += 1;
  await put('device', device);
  return id;
}

export interface Clock {
  server_ms: number;
  drift_max_ms: number;
  offset_ms: number;
}

export async function checkClock(device: Device): Promise<Clock> {
  const sent = Date.now();
  const body = await expect(device, 'GET', '/api/v1/pos/clock', undefined, [200]);
  const received = Date.now();
  const serverMs = Number(body.server_ms);
  return { server_ms: serverMs, drift_max_ms: Number(body.drift_max_ms), offset_ms: serverMs - Math.round((sent + received) / 2) };
}

export interface Payer {
  support_number?: string;
  qr?: string;
}

/** A support number or a QR code text (`GQ1.…`), as typed, pasted or read by a scanner. */
export function payerOf(text: string): Payer {
  const trimmed = text.trim();
  return trimmed.startsWith('GQ1.') ? { qr: trimmed } : { support_number: trimmed.replace(/\s+/g, '') };
}

export type Payment =
  | { mode: 'online'; pointTxnId: string; availableBefore: number | null; availableAfter: number | null }
  | { mode: 'offline'; pointTxnId: string; seq: number };

/**
 * Balance (support numbers only: a QR code would be spent by it), debit, positive
 * acknowledgement. When the network is down before the debit is answered, the debit is stored
 * for the next batch, after the offline checks.
 */
export async function pay(device: Device, payer: Payer, amount: number, offline: boolean): Promise<Payment> {
  const pointTxnId = await nextTxnId(device);
  const body = { point_txn_id: pointTxnId, amount, counter: 'EUR', ...payer };
  if (!offline) {
    try {
      let availableBefore: number | null = null;
      if (payer.support_number !== undefined) {
        const balance = await expect(device, 'POST', '/api/v1/pos/balance',
          { support_number: payer.support_number, point_at_ms: Date.now() }, [200]);
        availableBefore = euroAvailable(balance);
        if (availableBefore !== null && availableBefore < amount) throw new TillRefusal('insufficient_funds', 422);
      }
      const debit = await debitWithRetry(device, body);
      let ack: Record<string, unknown> = {};
      try {
        ack = await acknowledgeWithRetry(device, pointTxnId);
      } catch (error) {
        if (!(error instanceof TillOffline)) throw error;
        // The sale is done and the hold is on the account: the acknowledgement goes with the
        // next synchronisation (before the hold lapses, if the network allows).
        await put('pending-acks', [...(await loadPendingAcks()), pointTxnId]);
      }
      const after = typeof ack.balance_after === 'number' ? ack.balance_after : debit.available_after;
      return { mode: 'online', pointTxnId, availableBefore, availableAfter: typeof after === 'number' ? after : null };
    } catch (error) {
      if (!(error instanceof TillOffline)) throw error;
    }
  }
  await decideOffline(payer);
  const event = await store(device, 'wallet.debit', body);
  return { mode: 'offline', pointTxnId, seq: event.seq };
}

function euroAvailable(balance: Record<string, unknown>): number | null {
  const list = Array.isArray(balance.balances) ? (balance.balances as Record<string, unknown>[]) : [];
  const euro = list.find((b) => b.counter === 'EUR');
  return typeof euro?.available === 'number' ? euro.available : null;
}

/** The debit, sent again once (same body, new signature) when its answer was lost. */
async function debitWithRetry(device: Device, body: Record<string, string | number>) {
  try {
    return await expect(device, 'POST', '/api/v1/pos/debits', { ...body, point_at_ms: Date.now() }, [200, 201]);
  } catch (error) {
    if (!(error instanceof TillOffline)) throw error;
    return expect(device, 'POST', '/api/v1/pos/debits', { ...body, point_at_ms: Date.now() }, [200, 201]);
  }
}

const loadPendingAcks = async () => (await get<string[]>('pending-acks')) ?? [];

/** Sends the acknowledgements that could not be sent; a refusal (the hold lapsed) drops one. */
export async function sendPendingAcks(device: Device): Promise<void> {
  for (const id of await loadPendingAcks()) {
    try {
      await expect(device, 'POST', '/api/v1/pos/acknowledgements', { point_txn_id: id, positive: true, point_at_ms: Date.now() }, [200]);
    } catch (error) {
      if (error instanceof TillOffline) return;
    }
    await put('pending-acks', (await loadPendingAcks()).filter((kept) => kept !== id));
  }
}

/** The acknowledgement, sent again (new signature, same body) when its answer is lost. */
async function acknowledgeWithRetry(device: Device, pointTxnId: string) {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await expect(device, 'POST', '/api/v1/pos/acknowledgements',
        { point_txn_id: pointTxnId, positive: true, point_at_ms: Date.now() }, [200]);
    } catch (error) {
      if (!(error instanceof TillOffline)) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

// ---- Offline ---------------------------------------------------------------------------------------

async function store(device: Device, kind: string, payload: Record<string, string | number>): Promise<OfflineEvent> {
  const event: OfflineEvent = { seq: device.nextSeq, kind, at_ms: Date.now(), payload };
  device.nextSeq += 1;
  await put('device', device);
  const queue = await loadQueue();
  queue.push(event);
  await put('queue', queue);
  return event;
}

/** What the till refuses without the network: opposed supports, bad or revoked QR codes. */
export async function decideOffline(payer: Payer): Promise<void> {
  if (payer.support_number !== undefined) {
    const oppositions = await loadFeed(OPPOSITIONS_FEED);
    if (payer.support_number in oppositions.items) throw new TillRefusal('support_opposed', 409, '', true);
  }
  if (payer.qr !== undefined) {
    const verdict = await checkQrOffline(payer.qr);
    if (!verdict.ok) throw new TillRefusal(verdict.code, 422, verdict.message, true);
  }
}

export async function checkQrOffline(text: string): Promise<QrVerdict> {
  const key = await get<QrKey>('qr-key');
  if (!key) return { ok: false, code: 'qr_signature_invalid', message: 'No QR key kept yet.' };
  const revoked = await loadFeed(REVOKED_PHONES_FEED);
  const ids = new Set<bigint>();
  for (const id of Object.keys(revoked.items)) {
    if (/^\d+$/.test(id)) ids.add(BigInt(id));
  }
  return verifyQrOffline(text, key.keys, ids, Date.now(), key.lifetime_s);
}

export interface SyncReport {
  sent: number;
  outcomes: Outcome[];
}

/** Sends the queue as one signed batch (at most 500 events) and keeps the per-event answers. */
export async function sendQueue(device: Device): Promise<SyncReport> {
  await sendPendingAcks(device);
  const queue = await loadQueue();
  if (queue.length === 0) return { sent: 0, outcomes: [] };
  const events = queue.slice(0, BATCH_EVENTS_MAX);
  const first = events[0] as OfflineEvent;
  const last = events[events.length - 1] as OfflineEvent;
  const batch = { device_id: device.deviceId, batch_id: `d${device.deviceId}-s${first.seq}-${last.seq}`, events };
  const signature = await signText(device, batchSigningString(batch));
  const answer = await call(device, 'POST', '/api/v1/sync/batches', { ...batch, signature });
  if (answer.status !== 200 || !Array.isArray(answer.body?.outcomes)) {
    throw new TillRefusal(typeof answer.body?.code === 'string' ? answer.body.code : `http_${answer.status}`, answer.status);
  }
  const outcomes = (answer.body.outcomes as Outcome[]).map(({ seq, kind, state, code }) => ({ seq, kind, state, ...(code ? { code } : {}) }));
  const sent = new Set(events.map((e) => e.seq));
  await put('queue', queue.filter((e) => !sent.has(e.seq)));
  await put('outcomes', [...outcomes, ...(await loadOutcomes())].slice(0, 100));
  return { sent: events.length, outcomes };
}

/** Refreshes the oppositions and revoked phones feeds and the QR key; a missing feed is skipped. */
export async function refreshFeeds(device: Device): Promise<Record<string, string>> {
  const status: Record<string, string> = {};
  for (const name of [OPPOSITIONS_FEED, REVOKED_PHONES_FEED]) {
    const feed = await loadFeed(name);
    status[name] = 'ok';
    for (let page = 0; page < 10_000; page += 1) {
      const query = `?limit=${FEED_PAGE_ITEMS}${feed.cursor ? `&cursor=${encodeURIComponent(feed.cursor)}` : ''}`;
      const answer = await call(device, 'GET', `/api/v1/sync/feeds/${name}${query}`);
      if (answer.status !== 200 || !answer.body) {
        status[name] = typeof answer.body?.code === 'string' ? answer.body.code : `http_${answer.status}`;
        break;
      }
      const { reset, items, cursor, complete } = answer.body as { reset?: boolean; items: { k: string; v?: unknown; del?: boolean }[]; cursor: string; complete: boolean };
      if (reset) feed.items = {};
      for (const item of items) {
        if (item.del) delete feed.items[item.k];
        else feed.items[item.k] = item.v;
      }
      feed.cursor = cursor;
      if (complete) break;
    }
    if (status[name] === 'ok') await put(`feed:${name}`, feed);
  }
  const key = await fetchJson('GET', '/api/v1/wallet/qr-key', undefined, {});
  if (key.status === 200 && key.body && Array.isArray(key.body.keys)) {
    await put('qr-key', { keys: key.body.keys, lifetime_s: Number(key.body.lifetime_s) });
  }
  return status;
}

export const oppositionsCount = async () => Object.keys((await loadFeed(OPPOSITIONS_FEED)).items).length;
