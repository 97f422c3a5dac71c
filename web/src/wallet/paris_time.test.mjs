// Tests of paris_time.ts (run: node --test web/src/wallet/): a date and time typed as Paris
// time becomes the right instant in winter, in summer and around both changes of the clocks,
// whatever the time zone of the machine running the browser.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { importTypeScript } from '../../../tests/support/typescript.mjs';

const p = await importTypeScript('src/wallet/paris_time.ts');

test('winter is UTC+1, summer UTC+2', () => {
  assert.equal(p.parisToEpochMs('2026-01-15', '12:00'), Date.UTC(2026, 0, 15, 11, 0));
  assert.equal(p.parisToEpochMs('2026-07-15', '12:00'), Date.UTC(2026, 6, 15, 10, 0));
  assert.equal(p.parisToEpochMs('2026-11-29', '00:00'), Date.UTC(2026, 10, 28, 23, 0));
});

test('around the changes of the clocks', () => {
  // 29 March 2026: 02:00 → 03:00; 02:30 does not exist.
  assert.equal(p.parisToEpochMs('2026-03-29', '01:59'), Date.UTC(2026, 2, 29, 0, 59));
  assert.equal(p.parisToEpochMs('2026-03-29', '02:30'), null);
  assert.equal(p.parisToEpochMs('2026-03-29', '03:00'), Date.UTC(2026, 2, 29, 1, 0));
  // 25 October 2026: 03:00 → 02:00; 02:30 happens twice, the first (summer) one is meant.
  assert.equal(p.parisToEpochMs('2026-10-25', '02:30'), Date.UTC(2026, 9, 25, 0, 30));
  assert.equal(p.parisToEpochMs('2026-10-25', '03:30'), Date.UTC(2026, 9, 25, 2, 30));
});

test('malformed input is refused, and an instant goes back to the same fields', () => {
  for (const [date, time] of [['2026-13-01', '10:00'], ['29/11/2026', '10:00'], ['2026-11-29', '24:00'], ['', '']]) {
    assert.equal(p.parisToEpochMs(date, time), null, `${date} ${time}`);
  }
  for (const ms of [Date.UTC(2026, 0, 1, 0, 0), Date.UTC(2026, 6, 14, 21, 45), Date.UTC(2026, 9, 25, 0, 30)]) {
    const [date, time] = p.epochMsToParis(ms);
    assert.equal(p.parisToEpochMs(date, time), ms);
  }
  assert.deepEqual(p.epochMsToParis(Date.UTC(2026, 10, 28, 23, 5)), ['2026-11-29', '00:05']);
});
