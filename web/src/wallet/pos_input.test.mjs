// Tests of pos_input.ts (run: node --test web/src/wallet/): how the back-office screens read an
// IBAN, a BIC, a commission typed as a percentage, an amount in euros and a location, and how
// they show amounts in French and English.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { importTypeScript } from '../../../tests/support/typescript.mjs';

const p = await importTypeScript('src/wallet/pos_input.ts');

test('an IBAN is checked by its ISO 13616 check digits, spaces and case aside', () => {
  assert.equal(p.ibanIsValid('FR7630006000011234567890189'), true);
  assert.equal(p.ibanIsValid('fr76 3000 6000 0112 3456 7890 189'), true);
  assert.equal(p.ibanIsValid('DE89 3704 0044 0532 0130 00'), true);
  assert.equal(p.ibanIsValid('FR7630006000011234567890188'), false, 'one digit wrong');
  assert.equal(p.ibanIsValid('FR76'), false);
  assert.equal(p.ibanIsValid('7630006000011234567890189FR'), false);
  assert.equal(p.ibanIsValid(''), false);
  assert.equal(p.compactIban(' fr76 3000 6000 0112 3456 7890 189 '), 'FR7630006000011234567890189');
});

test('a BIC has 8 or 11 characters: bank, country, place, optional branch', () => {
  assert.equal(p.bicIsValid('AGRIFRPP'), true);
  assert.equal(p.bicIsValid('agrifrpp882'), true);
  assert.equal(p.bicIsValid('AGRIFRP'), false);
  assert.equal(p.bicIsValid('AGRIFRPP88'), false);
  assert.equal(p.bicIsValid('1GRIFRPP'), false);
});

test('a commission typed as a percentage is sent in basis points', () => {
  assert.equal(p.percentToBasisPoints('1,5'), 150);
  assert.equal(p.percentToBasisPoints('1.5 %'), 150);
  assert.equal(p.percentToBasisPoints('0'), 0);
  assert.equal(p.percentToBasisPoints('2,35'), 235);
  assert.equal(p.percentToBasisPoints('100'), 10000);
  assert.equal(p.percentToBasisPoints('0,01'), 1);
  for (const bad of ['', '-1', '100,01', '150', '1,555', 'abc', '1,5,0']) {
    assert.equal(p.percentToBasisPoints(bad), null, bad);
  }
});

test('an amount typed in euros is sent in cents', () => {
  assert.equal(p.eurosToCents('12,50'), 1250);
  assert.equal(p.eurosToCents('12.5'), 1250);
  assert.equal(p.eurosToCents('12 €'), 1200);
  assert.equal(p.eurosToCents('0,07'), 7);
  assert.equal(p.eurosToCents('0'), 0);
  for (const bad of ['', '-3', '1,234', 'douze', '1e3']) assert.equal(p.eurosToCents(bad), null, bad);
});

test('a location is 2 to 8 segments of letters and digits joined by hyphens', () => {
  assert.equal(p.locationIsValid('Crous-UG-RU-UD-Caisse'), true);
  assert.equal(p.locationIsValid('Crous-Caisse1'), true);
  assert.equal(p.locationIsValid('Crous'), false);
  assert.equal(p.locationIsValid('Crous--Caisse'), false);
  assert.equal(p.locationIsValid('Crous-RU Diderot'), false);
  assert.equal(p.locationIsValid('A-B-C-D-E-F-G-H-I'), false);
  assert.equal(p.locationIsValid(`Crous-${'x'.repeat(33)}`), false);
});

test('amounts and rates are shown in the reader’s language', () => {
  const spaces = (text) => text.replace(/[\u00a0\u202f]/g, ' ');
  assert.equal(spaces(p.formatEuros(1250, 'fr')), '12,50 €');
  assert.equal(p.formatEuros(1250, 'en'), '€12.50');
  assert.equal(spaces(p.formatEuros(123456, 'fr')), '1 234,56 €');
  assert.equal(spaces(p.formatBasisPoints(150, 'fr')), '1,5 %');
  assert.equal(p.formatBasisPoints(150, 'en'), '1.5%');
});
