// What people type on the back-office screens of the acceptance network, read as the server
// wants it (IBAN, BIC, a commission as a percentage sent in basis points, an amount in euros sent
// in cents, a location in the institution's nomenclature), and amounts shown back in the reader's
// language. Self-contained, so that node:test can load it (pos_input.test.mjs).
import type { Lang } from '../i18n';

/** Limits the server applies (modules/wallet/pos.h), checked here first to say it in words. */
export const posLimits = {
  commissionPercentMax: 100,
  settlementPeriodDaysMax: 30,
  institutionIdLengthMax: 64,
  addressLengthMax: 300,
  locationSegmentsMax: 8,
  locationSegmentLengthMax: 32,
  reasonLengthMax: 500,
  testCreditCentsMax: 100_000,
  nameLengthMax: 200,
} as const;

// ---- Reading what people type ---------------------------------------------------------------------

/** An IBAN without spaces, upper case. */
export const compactIban = (text: string) => text.replace(/\s+/g, '').toUpperCase();

/** Whether an IBAN is well formed and its ISO 13616 check digits (mod 97) are right. */
export function ibanIsValid(text: string): boolean {
  const iban = compactIban(text);
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const digits = /\d/.test(char) ? char : String(char.charCodeAt(0) - 55);
    for (const digit of digits) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}

/** A BIC (ISO 9362): 8 or 11 characters, bank, country, place, optional branch. */
export const bicIsValid = (text: string) => /^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/.test(text.trim().toUpperCase());

/**
 * A commission typed as a percentage ("1,5", "1.50 %") in basis points (150), or null when it
 * is not a number between 0 and 100 with at most two decimals.
 */
export function percentToBasisPoints(text: string): number | null {
  const cleaned = text.replace(/\s|%/g, '').replace(',', '.');
  if (!/^\d{1,3}(\.\d{1,2})?$/.test(cleaned)) return null;
  const bp = Math.round(Number(cleaned) * 100);
  return bp <= posLimits.commissionPercentMax * 100 ? bp : null;
}

/** An amount in euros typed by a person ("12,50", "12.5", "12 €") in cents, or null. */
export function eurosToCents(text: string): number | null {
  const cleaned = text.replace(/\s|€/g, '').replace(',', '.');
  if (!/^\d{1,7}(\.\d{1,2})?$/.test(cleaned)) return null;
  return Math.round(Number(cleaned) * 100);
}

/** A location in the institution's nomenclature: 2 to 8 segments of letters and digits joined by '-'. */
export function locationIsValid(text: string): boolean {
  const segments = text.trim().split('-');
  return (
    segments.length >= 2 &&
    segments.length <= posLimits.locationSegmentsMax &&
    segments.every((segment) => /^[A-Za-z0-9]+$/.test(segment) && segment.length <= posLimits.locationSegmentLengthMax)
  );
}

// ---- Display --------------------------------------------------------------------------------------

const locale = (lang: Lang) => (lang === 'fr' ? 'fr-FR' : 'en-GB');

/** Cents as euros in the reader's language: 12,50 € in French. */
export const formatEuros = (cents: number, lang: Lang) =>
  new Intl.NumberFormat(locale(lang), { style: 'currency', currency: 'EUR' }).format(cents / 100);

/** Basis points as a percentage: 1,5 % in French. */
export const formatBasisPoints = (bp: number, lang: Lang) =>
  new Intl.NumberFormat(locale(lang), { style: 'percent', maximumFractionDigits: 2 }).format(bp / 10_000);

export const formatDateTime = (at: string | number, lang: Lang) =>
  new Intl.DateTimeFormat(locale(lang), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(at));
