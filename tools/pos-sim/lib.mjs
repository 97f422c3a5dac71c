// A point-of-sale simulator (issue 6, item 10): a till that pairs with a pairing code, signs
// every request as docs/pos-protocol.md §2 says, checks its clock, pays in three phases (balance,
// debit, acknowledgement), loads tokens, takes cash packs and cancels — and keeps working through
// a network outage: operations are then stored with the till's own time and later uploaded as
// signed batches (docs/offline-sync.md §2), after a local decision made with the feeds it
// downloaded (opposed supports, revoked phones) and the service's QR keys.
//
//   const till = await Till.open({ url: 'http://127.0.0.1:8080', statePath: 'till.json' });
//   await till.pair('7KQ2M9XA');
//   const paid = await till.pay({ support_number: '04A1B2C3D4E5F7', amount: 330 });
//
// No dependency besides Node (20+): Ed25519 and SHA-256 from node:crypto, keep-alive HTTP/1.1.
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { gunzipSync } from 'node:zlib';

/** Events in one uploaded batch, at most (the service refuses more: batch_too_large). */
export const BATCH_EVENTS_MAX = 500;
/** Items asked for per feed page (the service's maximum). */
export const FEED_PAGE_ITEMS = 1000;
/** Deadline of one HTTP request, in milliseconds: past it the till counts the network as down. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** Tries of an acknowledgement before it is kept for the next sync. */
export const ACK_TRIES = 3;
/** The feeds a till keeps to decide offline. */
export const OPPOSITIONS_FEED = 'wallet.oppositions';
export const REVOKED_PHONES_FEED = 'wallet.qr_revoked_phones';
/** The offline event kinds (contract with the wallet's sync handlers). */
export const KINDS = Object.freeze({
  debit: 'wallet.debit', load: 'wallet.load', cashReload: 'wallet.cash_reload', cancel: 'wallet.cancel',
});

const sha256Hex = (data) => createHash('sha256').update(data).digest('hex');

/** RFC 8785 canonical JSON restricted to integers (docs/offline-sync.md, "The signed bytes"). */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    // The default sort compares UTF-16 code units, as RFC 8785 asks.
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new Error(`offline payloads carry integers only, not ${value}`);
  }
  return JSON.stringify(value);
}

/** The bytes a device signs for a batch (docs/offline-sync.md §2). */
export function batchSigningString(batch) {
  let text = `guichet-sync-batch-v1\n${batch.device_id}\n${batch.batch_id}\n${batch.events.length}\n`;
  for (const e of batch.events) text += `${e.seq}\n${e.kind}\n${e.at_ms}\n${canonicalJson(e.payload)}\n`;
  return text;
}

/** The string a device signs for one request (docs/pos-protocol.md §2). */
export function requestSigningString(method, target, timestamp, body) {
  return `${method}\n${target}\n${timestamp}\n${sha256Hex(body)}`;
}

/** The network or the service could not be reached (or did not answer in time). */
export class NetworkError extends Error {
  constructor(cause) {
    super(`network: ${cause?.code ?? cause?.message ?? cause}`);
    this.name = 'NetworkError';
    this.cause = cause;
  }
}

/** The service (or the till itself, offline) refused an operation: `code` says why. */
export class Refusal extends Error {
  constructor(code, status, problem = {}, { local = false } = {}) {
    super(`${code}${problem.detail ? `: ${problem.detail}` : ''}`);
    this.name = 'Refusal';
    this.code = code;
    this.status = status;
    this.problem = problem;
    this.local = local;
  }
}

/** Whether an error means "go offline" rather than "the service said no". */
export const isNetworkError = (error) => error instanceof NetworkError
  || (error instanceof Refusal && error.status >= 502 && error.status <= 504);

const emptyState = () => ({
  version: 1, url: '', device_id: null, private_key: null, public_key: null, txn_prefix: '',
  next_txn: 1, next_seq: 1, offline: false, queue: [], pending_acks: [], results: [],
  feeds: {}, qr_key: null, clock: null,
});

export class Till {
  /**
   * @param {{url: string, statePath?: string, state?: object, maxSockets?: number,
   *          now?: () => number}} options  `statePath`: where the key and the offline queue
   *   are kept (nothing on disk without it); `now`: the till's clock (Date.now by default).
   */
  constructor({ url, statePath, state, maxSockets = 2, now = () => Date.now() }) {
    this.statePath = statePath;
    this.state = { ...emptyState(), ...(state ?? {}) };
    if (url) this.state.url = url.replace(/\/+$/, '');
    if (!this.state.url) throw new Error('the service address (url) is missing');
    this.now = now;
    const secure = this.state.url.startsWith('https:');
    this.transport = secure ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets });
    this.privateKey = this.state.private_key
      ? createPrivateKey({ key: Buffer.from(this.state.private_key, 'base64url'), format: 'der', type: 'pkcs8' })
      : null;
  }

  /** A till from its state file (created empty when missing). */
  static open({ url, statePath, ...rest }) {
    const state = statePath && existsSync(statePath) ? JSON.parse(readFileSync(statePath, 'utf8')) : undefined;
    return new Till({ url: url ?? state?.url, statePath, state, ...rest });
  }

  get deviceId() { return this.state.device_id; }
  get offline() { return this.state.offline; }
  set offline(value) { this.state.offline = Boolean(value); this.save(); }
  /** Operations stored offline and not uploaded yet. */
  get queue() { return this.state.queue; }

  /** Writes the state file (atomically: a crash never leaves half a file). */
  save() {
    if (!this.statePath) return;
    const temporary = `${this.statePath}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.state, null, 1)}\n`, { mode: 0o600 });
    renameSync(temporary, this.statePath);
  }

  /** Closes the kept-alive connections (a process then exits at once). */
  close() { this.agent.destroy(); }

  // ---- HTTP -------------------------------------------------------------------------------------

  /** One HTTP request; resolves {status, headers, text, body}; rejects NetworkError. */
  raw(method, target, { body, headers = {} } = {}) {
    return new Promise((resolve, reject) => {
      const url = new URL(this.state.url + target);
      const data = body === undefined ? undefined : Buffer.from(body);
      const req = this.transport.request(url, {
        method, agent: this.agent,
        headers: { accept: 'application/json', ...headers, ...(data ? { 'content-length': data.length } : {}) },
      }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('error', (error) => reject(new NetworkError(error)));
        res.on('end', () => {
          let data = Buffer.concat(chunks);
          if (res.headers['content-encoding'] === 'gzip') {
            try { data = gunzipSync(data); } catch (error) { reject(new NetworkError(error)); return; }
          }
          const text = data.toString('utf8');
          let parsed;
          try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
          resolve({ status: res.statusCode, headers: res.headers, text, body: parsed });
        });
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      req.on('error', (error) => reject(new NetworkError(error)));
      req.end(data);
    });
  }

  /** A signed device request (docs/pos-protocol.md §2); `json` undefined sends no body. */
  async call(method, target, json, headers = {}) {
    if (!this.privateKey) throw new Error('this till is not paired yet');
    const body = json === undefined ? '' : JSON.stringify(json);
    const timestamp = String(this.now());
    const signature = sign(null, Buffer.from(requestSigningString(method, target, timestamp, body)), this.privateKey);
    return this.raw(method, target, {
      body: json === undefined ? undefined : body,
      headers: {
        ...headers,
        ...(json === undefined ? {} : { 'content-type': 'application/json' }),
        'x-device-id': String(this.state.device_id),
        'x-device-timestamp': timestamp,
        'x-device-signature': signature.toString('base64url'),
      },
    });
  }

  /** A signed call that must answer one of `statuses`; otherwise a Refusal with the problem's code. */
  async expect(method, target, json, statuses = [200, 201]) {
    const r = await this.call(method, target, json);
    if (statuses.includes(r.status)) return r.body;
    const problem = r.body && typeof r.body === 'object' ? r.body : {};
    throw new Refusal(problem.code ?? `http_${r.status}`, r.status, problem);
  }

  // ---- Pairing and clock ------------------------------------------------------------------------

  /** Pairs with an approved point's pairing code: a new Ed25519 key pair, kept in the state. */
  async pair(code) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const publicKeyText = publicKey.export({ format: 'jwk' }).x;
    const r = await this.raw('POST', '/api/v1/devices/pair', {
      body: JSON.stringify({ code, public_key: publicKeyText }), headers: { 'content-type': 'application/json' },
    });
    if (r.status !== 201) throw new Refusal(r.body?.code ?? `http_${r.status}`, r.status, r.body ?? {});
    const keep = { url: this.state.url };
    this.state = { ...emptyState(), ...keep };
    this.state.device_id = r.body.device_id;
    this.state.public_key = publicKeyText;
    this.state.private_key = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url');
    // Ids unique for the point even across re-pairings: the device id and a random tag.
    this.state.txn_prefix = `T${r.body.device_id}-${randomBytes(3).toString('hex')}`;
    this.privateKey = privateKey;
    this.save();
    return r.body;
  }

  /** A new point_txn_id, stored before use (docs/pos-protocol.md §4: write it before sending). */
  txnId() {
    const id = `${this.state.txn_prefix}-${this.state.next_txn}`;
    this.state.next_txn += 1;
    this.save();
    return id;
  }

  /** The service's clock: {server_ms, drift_max_ms, offset_ms (server − till, half round trip)}. */
  async clock() {
    const sent = this.now();
    const body = await this.expect('GET', '/api/v1/pos/clock', undefined, [200]);
    const received = this.now();
    const offset = body.server_ms - Math.round((sent + received) / 2);
    this.state.clock = { ...body, offset_ms: offset, checked_at_ms: received };
    this.save();
    return this.state.clock;
  }

  // ---- Online operations ------------------------------------------------------------------------

  /** Phase 1: the balances of a support (or a web shop's payment code). */
  balance({ support_number, payment_code }) {
    return this.expect('POST', '/api/v1/pos/balance',
      { ...payer({ support_number, payment_code }), point_at_ms: this.now() }, [200]);
  }

  /**
   * A payment: debit (a hold) then acknowledgement, positive unless `positive: false`. Online it
   * answers {mode: 'online', point_txn_id, debit, acknowledgement}; offline (or when the network
   * fails before the debit is answered) the debit is stored and it answers {mode: 'offline',
   * point_txn_id, event}. A refusal throws a Refusal (`local: true` when decided offline).
   */
  async pay({ support_number, qr, payment_code, amount, counter = 'EUR', positive = true, point_txn_id }) {
    const id = point_txn_id ?? this.txnId();
    const body = { point_txn_id: id, amount, counter, ...payer({ support_number, qr, payment_code }) };
    if (!this.state.offline) {
      let debit;
      try {
        debit = await this.debitWithRetry(body);
      } catch (error) {
        if (!isNetworkError(error) || payment_code) throw error;
      }
      if (debit) {
        const acknowledgement = await this.acknowledge(id, positive);
        return { mode: 'online', point_txn_id: id, debit, acknowledgement };
      }
    }
    if (payment_code) throw new Refusal('offline_not_possible', 0, { detail: 'A payment code needs the network.' }, { local: true });
    if (!positive) return { mode: 'offline', point_txn_id: id, event: null };
    await this.decideOffline(body);
    return { mode: 'offline', point_txn_id: id, event: this.store(KINDS.debit, body) };
  }

  /** A debit, sent again once (same body, new signature) when its answer was lost. */
  async debitWithRetry(body) {
    try {
      return await this.expect('POST', '/api/v1/pos/debits', { ...body, point_at_ms: this.now() });
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
      return this.expect('POST', '/api/v1/pos/debits', { ...body, point_at_ms: this.now() });
    }
  }

  /** Phase 3; kept for the next sync when the network fails every time. */
  async acknowledge(id, positive = true) {
    let last;
    for (let i = 0; i < ACK_TRIES; i += 1) {
      try {
        return await this.expect('POST', '/api/v1/pos/acknowledgements',
          { point_txn_id: id, positive, point_at_ms: this.now() }, [200]);
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        last = error;
      }
    }
    this.state.pending_acks.push({ point_txn_id: id, positive });
    this.save();
    return { state: 'unknown', pending: true, error: last.message };
  }

  /** A token load (permission load:<counter>). */
  load({ support_number, qr, amount, counter }) {
    return this.postOrStore('/api/v1/pos/loads', KINDS.load,
      { point_txn_id: this.txnId(), counter, amount, ...payer({ support_number, qr }) });
  }

  /** A cash pack of 500, 1000 or 2000 cents (permission cash_reload). */
  cashReload({ support_number, amount }) {
    return this.postOrStore('/api/v1/pos/cash-reloads', KINDS.cashReload,
      { point_txn_id: this.txnId(), amount, support_number });
  }

  /** Cancels an acknowledged debit of this point (permission cancel). */
  cancel(cancelsPointTxnId) {
    return this.postOrStore('/api/v1/pos/cancellations', KINDS.cancel,
      { point_txn_id: this.txnId(), cancels_point_txn_id: cancelsPointTxnId });
  }

  /** The current state of one of this point's transactions. */
  transaction(id) {
    return this.expect('GET', `/api/v1/pos/transactions/${encodeURIComponent(id)}`, undefined, [200]);
  }

  async postOrStore(target, kind, body) {
    if (!this.state.offline) {
      try {
        const answer = await this.expect('POST', target, { ...body, point_at_ms: this.now() });
        return { mode: 'online', point_txn_id: body.point_txn_id, answer };
      } catch (error) {
        if (!isNetworkError(error)) throw error;
      }
    }
    if (kind !== KINDS.cancel) await this.decideOffline(body);
    return { mode: 'offline', point_txn_id: body.point_txn_id, event: this.store(kind, body) };
  }

  // ---- Offline ----------------------------------------------------------------------------------

  /** Stores one offline event with the next seq and the till's time (before showing it done). */
  store(kind, payload) {
    const event = { seq: this.state.next_seq, kind, at_ms: this.now(), payload };
    canonicalJson(payload);  // integers only: refuse now rather than at upload
    this.state.next_seq += 1;
    this.state.queue.push(event);
    this.save();
    return event;
  }

  /** What the till refuses without the network, from its feeds and the QR keys. */
  async decideOffline(body) {
    if (body.support_number !== undefined) {
      const opposed = this.feedItems(OPPOSITIONS_FEED)[body.support_number];
      if (opposed) throw new Refusal('support_opposed', 409, { detail: 'Support opposed (offline list).' }, { local: true });
    }
    if (body.qr !== undefined) {
      const verdict = await this.verifyQr(body.qr);
      if (!verdict.ok) throw new Refusal(verdict.code, 422, { detail: verdict.message }, { local: true });
    }
  }

  /** Checks a one-time QR code offline (docs/wallet-qr.md) with the kept keys and revoked phones. */
  async verifyQr(text) {
    if (!this.state.qr_key) return { ok: false, code: 'qr_signature_invalid', message: 'No QR key kept yet: sync first.' };
    const qr = await loadQrVerifier();
    const revoked = new Set(Object.keys(this.feedItems(REVOKED_PHONES_FEED)).map((k) => BigInt(k)));
    return qr.verifyQrOffline(text, this.state.qr_key.keys, revoked, this.now(), this.state.qr_key.lifetime_s);
  }

  feedItems(name) { return this.state.feeds[name]?.items ?? {}; }

  /**
   * Uploads the queue as signed batches (oldest first, at most 500 events each), then sends the
   * kept acknowledgements, then refreshes the feeds and the QR key. Answers
   * {batches: [answer…], outcomes: [outcome…], acknowledgements: [...], feeds: {name: status}}.
   */
  async sync({ feeds = true } = {}) {
    const report = { batches: [], outcomes: [], acknowledgements: [], feeds: {} };
    while (this.state.queue.length > 0) {
      const answer = await this.uploadOnce();
      report.batches.push(answer);
      report.outcomes.push(...answer.outcomes);
    }
    while (this.state.pending_acks.length > 0) {
      const { point_txn_id, positive } = this.state.pending_acks[0];
      let result;
      try {
        result = await this.expect('POST', '/api/v1/pos/acknowledgements', { point_txn_id, positive, point_at_ms: this.now() }, [200]);
      } catch (error) {
        if (isNetworkError(error)) throw error;
        result = { refused: error.code };
      }
      report.acknowledgements.push({ point_txn_id, ...result });
      this.state.pending_acks.shift();
      this.save();
    }
    if (feeds) report.feeds = await this.refreshFeeds();
    return report;
  }

  /**
   * One signed batch of the oldest queued events; removes them from the queue once answered.
   * Events the service already stored (an earlier answer was lost) are answered from what it
   * stored, never applied twice. A refusal (`sequence_gap`: events were lost on this side;
   * `batch_signature_invalid`…) leaves the queue as it is and throws.
   */
  async uploadOnce() {
    const events = this.state.queue.slice(0, BATCH_EVENTS_MAX);
    const r = await this.call('POST', '/api/v1/sync/batches', this.signBatch(events));
    if (r.status !== 200) throw new Refusal(r.body?.code ?? `http_${r.status}`, r.status, r.body ?? {});
    const sent = new Set(events.map((e) => e.seq));
    this.state.queue = this.state.queue.filter((e) => !sent.has(e.seq));
    this.state.results.push(...r.body.outcomes.map((o) => ({ seq: o.seq, kind: o.kind, state: o.state, code: o.code ?? null })));
    this.state.results = this.state.results.slice(-BATCH_EVENTS_MAX);
    this.save();
    return r.body;
  }

  /** A signed batch of `events`; its id depends only on its seqs, so a re-send is a duplicate. */
  signBatch(events) {
    const batch = {
      device_id: this.state.device_id,
      batch_id: `d${this.state.device_id}-s${events[0].seq}-${events[events.length - 1].seq}`,
      events: events.map(({ seq, kind, at_ms, payload }) => ({ seq, kind, at_ms, payload })),
    };
    batch.signature = sign(null, Buffer.from(batchSigningString(batch)), this.privateKey).toString('base64url');
    return batch;
  }

  /** Downloads the feeds the till decides with, and the QR key; {name: 'ok'|'unknown'|code}. */
  async refreshFeeds(names = [OPPOSITIONS_FEED, REVOKED_PHONES_FEED]) {
    const status = {};
    for (const name of names) {
      try {
        await this.readFeed(name);
        status[name] = 'ok';
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        status[name] = error.code === 'feed_unknown' ? 'unknown' : error.code;
      }
    }
    const key = await this.raw('GET', '/api/v1/wallet/qr-key');
    if (key.status === 200) {
      this.state.qr_key = key.body;
      status.qr_key = 'ok';
    } else {
      status.qr_key = key.body?.code ?? `http_${key.status}`;
    }
    this.save();
    return status;
  }

  /** Reads a feed from the kept cursor to `complete`, applying resets, items and deletions. */
  async readFeed(name) {
    const feed = this.state.feeds[name] ?? { cursor: '', items: {} };
    for (let page = 0; page < 100_000; page += 1) {
      const query = `?limit=${FEED_PAGE_ITEMS}${feed.cursor ? `&cursor=${encodeURIComponent(feed.cursor)}` : ''}`;
      const r = await this.call('GET', `/api/v1/sync/feeds/${name}${query}`, undefined, { 'accept-encoding': 'gzip' });
      if (r.status === 400 && r.body?.code === 'cursor_invalid' && feed.cursor) {
        feed.cursor = '';
        continue;
      }
      if (r.status !== 200) throw new Refusal(r.body?.code ?? `http_${r.status}`, r.status, r.body ?? {});
      if (r.body.reset) feed.items = {};
      for (const item of r.body.items) {
        if (item.del) delete feed.items[item.k]; else feed.items[item.k] = item.v;
      }
      feed.cursor = r.body.cursor;
      if (r.body.complete) break;
    }
    this.state.feeds[name] = feed;
    this.save();
    return feed;
  }
}

/** The payer fields of a body: exactly the ones given. */
function payer({ support_number, qr, payment_code }) {
  const out = {};
  if (support_number !== undefined) out.support_number = String(support_number);
  if (qr !== undefined) out.qr = String(qr);
  if (payment_code !== undefined) out.payment_code = String(payment_code);
  return out;
}

let qrVerifier;
/** web/src/wallet/qr_phone.ts (the same verifier the web till uses), loaded once. */
async function loadQrVerifier() {
  if (!qrVerifier) {
    const { importTypeScript } = await import('../../tests/support/typescript.mjs');
    qrVerifier = await importTypeScript('src/wallet/qr_phone.ts');
  }
  return qrVerifier;
}

// ---- Load measurement ----------------------------------------------------------------------------

export const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/**
 * Runs `payments` payments (debit + positive acknowledgement) spread over `tills`, each till
 * paying one after the other, supports taken in turn. Answers {rate, p50, p95, p99, seconds}
 * (latencies in ms, one payment = its debit and acknowledgement).
 */
export async function runPayments(tills, supports, { payments, amount = 50, counter = 'EUR' }) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(tills.map(async (till, index) => {
    for (;;) {
      const n = next;
      next += 1;
      if (n >= payments) return;
      const support = supports[(n + index) % supports.length];
      const t0 = performance.now();
      const paid = await till.pay({ support_number: support, amount, counter });
      if (paid.mode !== 'online' || paid.acknowledgement.state !== 'acknowledged') {
        throw new Error(`payment ${paid.point_txn_id} not acknowledged online: ${JSON.stringify(paid)}`);
      }
      latencies.push(performance.now() - t0);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rate: payments / seconds, seconds,
    p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99),
  };
}
