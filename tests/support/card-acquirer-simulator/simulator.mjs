// Card acquirer simulator: a small local HTTP server that stands in for a card acquirer's
// hosted payment page, because a real acquirer cannot exist here. It speaks the usual shape of
// such protocols (see README.md next to this file):
//   merchant → POST /v1/payments (Bearer API key) → { id, redirect_url }
//   payer    → GET /pay/{id}: an HTML form where a card number is typed → POST /pay/{id}
//             (→ a 3-D-Secure-like challenge page for the challenge card)
//   acquirer → 303 to the merchant's return_url, and a server-to-server notification POSTed to
//             notification_url, signed: "Acquirer-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, t.body)>"
//   merchant → POST /v1/payments with card_token: merchant-initiated payment with a saved card
//   tests    → POST /admin/payments/{id}/chargeback, POST /admin/payments/{id}/resend,
//              GET /admin/notifications
//
//   import { startCardAcquirerSimulator } from './simulator.mjs';
//   const acquirer = await startCardAcquirerSimulator({ apiKey, secret });
//   … acquirer.url …; await acquirer.stop();
// or as a process: node simulator.mjs --port 8090 --api-key K --secret S
import { createServer } from 'node:http';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const TEST_CARDS = {
  accept: '4000000000000077',
  refuse: '4000000000000002',
  challenge: '4000000000003220',
};
export const CHALLENGE_CODE = '123456';
const bodyBytesMax = 64 * 1024;
const notifyAttempts = 5;
const notifyRetryMs = 200;

function luhnValid(number) {
  if (!/^\d{12,19}$/.test(number)) return false;
  let sum = 0;
  for (let i = 0; i < number.length; i++) {
    let digit = Number(number[number.length - 1 - i]);
    if (i % 2 === 1) { digit *= 2; if (digit > 9) digit -= 9; }
    sum += digit;
  }
  return sum % 10 === 0;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

export function sign(secret, timestamp, body) {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = []; let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > bodyBytesMax) { reject(new Error('body too large')); req.destroy(); return; }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function page(title, inner) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><link rel="icon" href="data:,">
<style>body{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.6rem 0 .2rem}input{font-size:1.1rem;width:100%;padding:.3rem}
button{margin-top:1rem;font-size:1.1rem;padding:.4rem 1rem}.banner{background:#fff3cd;padding:.5rem;border:1px solid #e0c36a}
.error{color:#a00}</style></head><body>
<p class="banner">Card acquirer simulator — test environment, no real card is charged.</p>${inner}</body></html>`;
}

function paymentForm(payment, error) {
  return page('Card payment', `<h1>Card payment</h1>
<p>Merchant reference <strong>${escapeHtml(payment.reference)}</strong></p>
<p>Amount <strong id="amount">${(payment.amount / 100).toFixed(2)} ${escapeHtml(payment.currency)}</strong></p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/pay/${payment.id}">
<label for="card_number">Card number</label><input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" required>
<label for="expiry">Expiry (MM/YY)</label><input id="expiry" name="expiry" value="12/30" required>
<label for="cvc">Security code</label><input id="cvc" name="cvc" value="123" required>
<button type="submit" name="action" value="pay">Pay</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form>
<p>Test cards: ${TEST_CARDS.accept} accepted, ${TEST_CARDS.refuse} refused, ${TEST_CARDS.challenge} asks for a code (${CHALLENGE_CODE}).</p>`);
}

function challengeForm(payment, error) {
  return page('Verification', `<h1>Verify your payment</h1>
<p>Your bank sent a code for ${(payment.amount / 100).toFixed(2)} ${escapeHtml(payment.currency)}.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/pay/${payment.id}/challenge">
<label for="code">Code</label><input id="code" name="code" inputmode="numeric" required>
<button type="submit">Confirm</button></form>`);
}

export async function startCardAcquirerSimulator(options = {}) {
  const apiKey = options.apiKey ?? 'sim_api_key';
  const secret = options.secret ?? 'sim_secret';
  const payments = new Map();
  const tokens = new Map();   // token → { last4, brand }
  const deliveries = [];      // every notification attempt, for tests
  let baseUrl = '';

  function json(res, status, body) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  function authorised(req) {
    const header = req.headers.authorization ?? '';
    const expected = Buffer.from(`Bearer ${apiKey}`);
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  function publicPayment(payment) {
    return { id: payment.id, reference: payment.reference, amount: payment.amount, currency: payment.currency,
      status: payment.status, card: payment.card ?? null };
  }

  async function notify(payment, type) {
    const event = { id: 'evt_' + randomBytes(8).toString('hex'), type, created_at: new Date().toISOString(),
      payment: publicPayment(payment) };
    payment.events.push(event);
    await deliver(payment, event);
    return event;
  }

  async function deliver(payment, event) {
    const body = JSON.stringify(event);
    for (let attempt = 1; attempt <= notifyAttempts; attempt++) {
      const timestamp = Math.floor(Date.now() / 1000);
      const record = { event_id: event.id, type: event.type, payment_id: payment.id, attempt, status: 0 };
      deliveries.push(record);
      try {
        const res = await fetch(payment.notification_url, { method: 'POST', body,
          headers: { 'content-type': 'application/json', 'acquirer-signature': `t=${timestamp},v1=${sign(secret, timestamp, body)}` } });
        record.status = res.status;
        record.response = await res.text();
        if (res.ok) return record;
      } catch (error) {
        record.error = String(error);
      }
      await new Promise((r) => setTimeout(r, notifyRetryMs * attempt));
    }
    return deliveries[deliveries.length - 1];
  }

  function finish(res, payment, status, card) {
    payment.status = status;
    if (card) payment.card = card;
    const sent = notify(payment, status === 'authorised' ? 'payment.authorised'
      : status === 'cancelled' ? 'payment.cancelled' : 'payment.refused');
    payment.notified = sent;
    // The payer comes back only once the notification was answered (or given up), as acquirers
    // that notify before redirecting do: the merchant's return page can show the final state.
    sent.finally(() => {
      const url = new URL(payment.return_url);
      url.searchParams.set('payment_id', payment.id);
      url.searchParams.set('status', payment.status);
      res.writeHead(303, { location: url.toString() });
      res.end();
    });
  }

  function cardOf(number, save) {
    const card = { brand: 'VISA', last4: number.slice(-4) };
    if (save) {
      const token = 'tok_' + randomBytes(12).toString('hex');
      tokens.set(token, { ...card, number });
      card.token = token;
    }
    return card;
  }

  async function handle(req, res) {
    const url = new URL(req.url, baseUrl);
    const parts = url.pathname.split('/').filter(Boolean);
    if (req.method === 'POST' && url.pathname === '/v1/payments') {
      if (!authorised(req)) return json(res, 401, { error: 'unauthorised' });
      let input;
      try { input = JSON.parse(await readBody(req)); } catch { return json(res, 400, { error: 'malformed_json' }); }
      if (!Number.isInteger(input.amount) || input.amount <= 0) return json(res, 422, { error: 'amount_invalid' });
      if (input.currency !== 'EUR') return json(res, 422, { error: 'currency_unsupported' });
      if (typeof input.reference !== 'string' || !input.reference) return json(res, 422, { error: 'reference_missing' });
      if (typeof input.notification_url !== 'string') return json(res, 422, { error: 'notification_url_missing' });
      const id = 'pay_' + randomBytes(10).toString('hex');
      const payment = { id, reference: input.reference, amount: input.amount, currency: input.currency,
        return_url: input.return_url, notification_url: input.notification_url, save_card: !!input.save_card,
        status: 'pending', events: [] };
      payments.set(id, payment);
      if (input.card_token !== undefined) {
        // Merchant-initiated payment with a saved card: answered at once, then notified (the
        // notification is what credits, as for a payment through the page).
        const card = tokens.get(input.card_token);
        payment.status = card ? 'authorised' : 'refused';
        payment.card = card ? { brand: card.brand, last4: card.last4, token: input.card_token } : null;
        json(res, 201, publicPayment(payment));
        payment.notified = notify(payment, payment.status === 'authorised' ? 'payment.authorised' : 'payment.refused');
        return;
      }
      if (typeof input.return_url !== 'string') return json(res, 422, { error: 'return_url_missing' });
      return json(res, 201, { ...publicPayment(payment), redirect_url: `${baseUrl}/pay/${id}` });
    }
    if (req.method === 'GET' && parts[0] === 'v1' && parts[1] === 'payments' && parts.length === 3) {
      if (!authorised(req)) return json(res, 401, { error: 'unauthorised' });
      const payment = payments.get(parts[2]);
      return payment ? json(res, 200, publicPayment(payment)) : json(res, 404, { error: 'not_found' });
    }
    if (parts[0] === 'pay' && parts.length >= 2) {
      const payment = payments.get(parts[1]);
      if (!payment) { res.writeHead(404, { 'content-type': 'text/html' }); return res.end(page('Unknown', '<h1>Unknown payment</h1>')); }
      if (payment.status !== 'pending' && payment.status !== 'challenge') {
        res.writeHead(409, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(page('Done', `<h1>This payment is ${escapeHtml(payment.status)}</h1>`));
      }
      if (req.method === 'GET' && parts.length === 2) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(paymentForm(payment));
      }
      const form = new URLSearchParams(await readBody(req));
      if (req.method === 'POST' && parts.length === 2) {
        if (form.get('action') === 'cancel') return finish(res, payment, 'cancelled');
        const number = (form.get('card_number') ?? '').replace(/\s+/g, '');
        if (!luhnValid(number)) {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          return res.end(paymentForm(payment, 'This card number is not valid.'));
        }
        if (number === TEST_CARDS.challenge) {
          payment.status = 'challenge';
          payment.pending_card = cardOf(number, payment.save_card);
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          return res.end(challengeForm(payment));
        }
        if (number === TEST_CARDS.accept) return finish(res, payment, 'authorised', cardOf(number, payment.save_card));
        return finish(res, payment, 'refused', { brand: 'VISA', last4: number.slice(-4) });
      }
      if (req.method === 'POST' && parts[2] === 'challenge' && payment.status === 'challenge') {
        if (form.get('code') === CHALLENGE_CODE) return finish(res, payment, 'authorised', payment.pending_card);
        return finish(res, payment, 'refused', { brand: 'VISA', last4: payment.pending_card.last4 });
      }
    }
    if (parts[0] === 'admin') {
      if (req.method === 'GET' && parts[1] === 'notifications') return json(res, 200, { deliveries });
      const payment = payments.get(parts[2] ?? '');
      if (!payment) return json(res, 404, { error: 'not_found' });
      if (req.method === 'POST' && parts[3] === 'chargeback') {
        if (payment.status !== 'authorised') return json(res, 409, { error: 'not_authorised' });
        payment.status = 'charged_back';
        const event = await notify(payment, 'payment.chargeback');
        return json(res, 200, { event, delivery: deliveries.filter((d) => d.event_id === event.id).at(-1) });
      }
      if (req.method === 'POST' && parts[3] === 'resend') {
        const event = payment.events.at(-1);
        if (!event) return json(res, 409, { error: 'no_event' });
        const delivery = await deliver(payment, event);
        return json(res, 200, { event, delivery });
      }
    }
    json(res, 404, { error: 'not_found' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => { if (!res.headersSent) json(res, 500, { error: String(error) }); });
  });
  await new Promise((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  baseUrl = `http://${options.host ?? '127.0.0.1'}:${server.address().port}`;
  return {
    url: baseUrl, apiKey, secret, deliveries, payments,
    stop: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const simulator = await startCardAcquirerSimulator({ port: Number(arg('port', '8090')), host: arg('host', '127.0.0.1'),
    apiKey: arg('api-key', process.env.GUICHET_CARD_ACQUIRER_API_KEY ?? 'sim_api_key'),
    secret: arg('secret', process.env.GUICHET_CARD_ACQUIRER_SECRET ?? 'sim_secret') });
  console.log(`card acquirer simulator: listening on ${simulator.url}`);
}
