// Tests of fraud_input.ts (run: node --test web/src/wallet/): how the fraud rule form is read —
// only the kind's own fields are sent, minutes become seconds, euros become cents, and values
// out of the server's ranges are refused field by field before anything is sent.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { importTypeScript } from '../../../tests/support/typescript.mjs';

const f = await importTypeScript('src/wallet/fraud_input.ts');
const p = await importTypeScript('src/wallet/pos_input.ts');
const form = (change = {}) => ({ enabled: true, count: '3', minutes: '10', euros: '50,00', depth: '3', action: 'alert', ...change });
const read = (kind, change) => f.readRuleFormWith(kind, form(change), p.eurosToCents);

test('each kind sends its own fields only, in seconds and cents', () => {
  assert.deepEqual(read('velocity', { action: 'oppose' }),
    { body: { enabled: true, action: 'oppose', count: 3, window_s: 600 } });
  assert.deepEqual(read('amount'), { body: { enabled: true, action: 'alert', amount_cents: 5000 } });
  assert.deepEqual(read('distance', { minutes: '15' }),
    { body: { enabled: true, action: 'alert', window_s: 900, site_depth: 3 } });
  assert.deepEqual(read('qr_replay', { enabled: false }),
    { body: { enabled: false, action: 'alert', count: 3, window_s: 600 } });
  assert.deepEqual(read('amount', { euros: ' 12.5 € ' }), { body: { enabled: true, action: 'alert', amount_cents: 1250 } });
});

test('values out of range are refused field by field', () => {
  assert.deepEqual(read('velocity', { count: '0' }), { errors: ['count'] });
  assert.deepEqual(read('velocity', { count: '10001', minutes: '10081' }), { errors: ['count', 'minutes'] });
  assert.deepEqual(read('refusals', { count: '2.5', minutes: '' }), { errors: ['count', 'minutes'] });
  assert.deepEqual(read('amount', { euros: '0' }), { errors: ['euros'] });
  assert.deepEqual(read('amount', { euros: 'beaucoup' }), { errors: ['euros'] });
  assert.deepEqual(read('distance', { depth: '9' }), { errors: ['depth'] });
  assert.deepEqual(read('velocity', { action: 'ban' }), { errors: ['action'] });
  // A field the kind does not have is not read, whatever it holds.
  assert.deepEqual(read('amount', { count: 'x', minutes: 'y', depth: 'z' }).body.amount_cents, 5000);
  assert.equal(f.fraudLimits.windowMinutesMax, 10080);
});
