// The wallet's one-time QR codes on the client side: what the phone app does (make an Ed25519
// key pair, make codes offline with a counter that goes up) and what a point of sale does
// without the network (verify a code with the service's public keys and its list of revoked
// phones). The same format as modules/wallet/qr_codes.h, byte for byte (docs/wallet-qr.md):
//   "GQ1." + base64url( version(1) ‖ service key id(4) ‖ phone id(u64) ‖ holder id(u64) ‖
//                       phone public key(32) ‖ certificate expiry(u32 Unix s) ‖ service signature(64) ‖
//                       counter(u32) ‖ made at(u32 Unix s) ‖ phone signature(64) )
// Integers are big-endian. Ed25519 comes from WebCrypto (Chromium, Firefox, Safari, Node ≥ 20),
// so there is no dependency; signatures are deterministic, so a code made here is the very same
// text the C++ side makes from the same key and inputs (tests/vectors/wallet_qr.json).

export const QR_PREFIX = "GQ1.";
export const QR_FORMAT_VERSION = 1;
export const QR_KEY_ID_BYTES = 4;
export const QR_CERTIFICATE_SIGNED_BYTES = 57;
export const QR_CERTIFICATE_BYTES = 121;
export const QR_CODE_SIGNED_BYTES = 129;
export const QR_CODE_BYTES = 193;
export const QR_TEXT_LENGTH_MAX = 300;
export const QR_CLOCK_DRIFT_S = 60;
const U32_MAX = 0xffffffff;

export type QrRefusalCode =
  | "qr_malformed"
  | "qr_signature_invalid"
  | "qr_expired"
  | "qr_not_yet_valid"
  | "qr_phone_revoked";

export interface QrCertificate {
  keyId: Uint8Array;
  phoneId: bigint;
  holderId: bigint;
  phonePublicKey: Uint8Array;
  expiresAtS: number;
}

export interface QrCode {
  certificate: QrCertificate;
  certificateBytes: Uint8Array;
  counter: number;
  madeAtS: number;
  bytes: Uint8Array;
}

export type QrVerdict = { ok: true; code: QrCode } | { ok: false; code: QrRefusalCode; message: string };

// A key as the service publishes it (GET /api/v1/wallet/qr-key): hex key id, base64url key.
export interface QrServiceKey {
  key_id: string;
  public_key: string;
}

export interface QrKeyPair {
  seed: Uint8Array; // 32 bytes: what the phone keeps (in its secure storage) to sign again
  privateKey: CryptoKey;
  publicKey: Uint8Array; // 32 bytes
  keyId: Uint8Array; // first 4 bytes of SHA-256(publicKey)
}

// ---- Encodings ---------------------------------------------------------------------------------

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

export function toBase64Url(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += B64URL[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

// Strict: only the canonical unpadded spelling is accepted (one code, one text).
export function fromBase64Url(text: string): Uint8Array | null {
  if (text.length % 4 === 1) return null;
  const bytes = new Uint8Array(Math.floor((text.length * 6) / 8));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const char of text) {
    const digit = B64URL.indexOf(char);
    if (digit < 0) return null;
    value = (value << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[at++] = (value >> bits) & 0xff;
    }
  }
  if (toBase64Url(bytes) !== text) return null;
  return bytes;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function putUnsigned(out: number[], value: bigint, bytes: number): void {
  for (let i = bytes - 1; i >= 0; i--) out.push(Number((value >> BigInt(8 * i)) & 0xffn));
}

function getUnsigned(bytes: Uint8Array, at: number, count: number): bigint {
  let value = 0n;
  for (let i = 0; i < count; i++) value = (value << 8n) | BigInt(bytes[at + i] ?? 0);
  return value;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

// ---- Keys and signatures -----------------------------------------------------------------------

// PKCS #8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410): WebCrypto imports seeds this way.
const PKCS8_ED25519_PREFIX = fromHex("302e020100300506032b657004220420");

async function keyIdOf(publicKey: Uint8Array): Promise<Uint8Array> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", publicKey as BufferSource));
  return digest.slice(0, QR_KEY_ID_BYTES);
}

export async function keyPairFromSeed(seed: Uint8Array): Promise<QrKeyPair> {
  if (seed.length !== 32) throw new Error("an Ed25519 seed is 32 bytes");
  const pkcs8 = new Uint8Array(PKCS8_ED25519_PREFIX.length + 32);
  pkcs8.set(PKCS8_ED25519_PREFIX);
  pkcs8.set(seed, PKCS8_ED25519_PREFIX.length);
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8 as BufferSource, { name: "Ed25519" }, true, [
    "sign",
  ]);
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = fromBase64Url(jwk.x ?? "");
  if (publicKey === null || publicKey.length !== 32) throw new Error("no public key");
  return { seed: seed.slice(), privateKey, publicKey, keyId: await keyIdOf(publicKey) };
}

// What the phone app does once, before enrolling: a fresh key pair (send publicKey, keep seed).
export async function generatePhoneKey(): Promise<QrKeyPair> {
  return keyPairFromSeed(crypto.getRandomValues(new Uint8Array(32)));
}

async function sign(key: CryptoKey, message: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key, message as BufferSource));
}

async function verify(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey("raw", publicKey as BufferSource, { name: "Ed25519" }, false, [
      "verify",
    ]);
    return await crypto.subtle.verify({ name: "Ed25519" }, key, signature as BufferSource, message as BufferSource);
  } catch {
    return false; // not a valid public key
  }
}

// ---- Making ------------------------------------------------------------------------------------

// The service's side, for tests and vectors: the phone receives its certificate from the service.
export async function signQrCertificate(service: QrKeyPair, certificate: Omit<QrCertificate, "keyId">): Promise<Uint8Array> {
  const out: number[] = [QR_FORMAT_VERSION, ...service.keyId];
  putUnsigned(out, certificate.phoneId, 8);
  putUnsigned(out, certificate.holderId, 8);
  out.push(...certificate.phonePublicKey);
  putUnsigned(out, BigInt(certificate.expiresAtS), 4);
  const signed = Uint8Array.from(out);
  const signature = await sign(service.privateKey, signed);
  const bytes = new Uint8Array(QR_CERTIFICATE_BYTES);
  bytes.set(signed);
  bytes.set(signature, QR_CERTIFICATE_SIGNED_BYTES);
  return bytes;
}

// What the phone does offline for each payment: the next counter (never reuse one) and the time.
// `certificate` is the base64url text the service answered at enrolment, or its bytes.
export async function makeQrCode(
  certificate: string | Uint8Array,
  phone: QrKeyPair,
  counter: number,
  madeAtS: number,
): Promise<string> {
  const certificateBytes = typeof certificate === "string" ? fromBase64Url(certificate) : certificate;
  if (certificateBytes === null || certificateBytes.length !== QR_CERTIFICATE_BYTES) {
    throw new Error("not a QR certificate");
  }
  if (!Number.isInteger(counter) || counter < 0 || counter > U32_MAX) throw new Error("counter out of range");
  if (!Number.isInteger(madeAtS) || madeAtS < 0 || madeAtS > U32_MAX) throw new Error("time out of range");
  const out: number[] = [...certificateBytes];
  putUnsigned(out, BigInt(counter), 4);
  putUnsigned(out, BigInt(madeAtS), 4);
  const signed = Uint8Array.from(out);
  const bytes = new Uint8Array(QR_CODE_BYTES);
  bytes.set(signed);
  bytes.set(await sign(phone.privateKey, signed), QR_CODE_SIGNED_BYTES);
  return QR_PREFIX + toBase64Url(bytes);
}

// ---- Reading and verifying ---------------------------------------------------------------------

const refuse = (code: QrRefusalCode, message: string): QrVerdict => ({ ok: false, code, message });

// Structure only, no signature checked.
export function parseQrCode(text: string): QrVerdict {
  if (text.length > QR_TEXT_LENGTH_MAX || !text.startsWith(QR_PREFIX)) {
    return refuse("qr_malformed", "This is not a Guichet QR code.");
  }
  const bytes = fromBase64Url(text.slice(QR_PREFIX.length));
  if (bytes === null || bytes.length !== QR_CODE_BYTES) return refuse("qr_malformed", "This QR code is damaged.");
  if (bytes[0] !== QR_FORMAT_VERSION) return refuse("qr_malformed", "Unknown QR code version.");
  const phoneId = getUnsigned(bytes, 5, 8);
  const holderId = getUnsigned(bytes, 13, 8);
  const int64Max = (1n << 63n) - 1n;
  if (phoneId === 0n || holderId === 0n || phoneId > int64Max || holderId > int64Max) {
    return refuse("qr_malformed", "This QR code names no phone.");
  }
  return {
    ok: true,
    code: {
      certificate: {
        keyId: bytes.slice(1, 1 + QR_KEY_ID_BYTES),
        phoneId,
        holderId,
        phonePublicKey: bytes.slice(21, 53),
        expiresAtS: Number(getUnsigned(bytes, 53, 4)),
      },
      certificateBytes: bytes.slice(0, QR_CERTIFICATE_BYTES),
      counter: Number(getUnsigned(bytes, QR_CERTIFICATE_BYTES, 4)),
      madeAtS: Number(getUnsigned(bytes, QR_CERTIFICATE_BYTES + 4, 4)),
      bytes,
    },
  };
}

// What a point checks without the network, in the same order as the C++ VerifyQrOffline.
export async function verifyQrOffline(
  text: string,
  serviceKeys: readonly QrServiceKey[],
  revokedPhoneIds: ReadonlySet<bigint>,
  pointNowMs: number,
  lifetimeS: number,
): Promise<QrVerdict> {
  const parsed = parseQrCode(text);
  if (!parsed.ok) return parsed;
  const { code } = parsed;
  const key = serviceKeys.find((candidate) => equal(fromHex(candidate.key_id), code.certificate.keyId));
  const servicePublicKey = key ? fromBase64Url(key.public_key) : null;
  if (servicePublicKey === null) return refuse("qr_signature_invalid", "Not certified by this service.");
  const bytes = code.bytes;
  const certificateSigned = bytes.slice(0, QR_CERTIFICATE_SIGNED_BYTES);
  const certificateSignature = bytes.slice(QR_CERTIFICATE_SIGNED_BYTES, QR_CERTIFICATE_BYTES);
  if (!(await verify(servicePublicKey, certificateSignature, certificateSigned))) {
    return refuse("qr_signature_invalid", "This QR code's certificate is forged.");
  }
  const codeSigned = bytes.slice(0, QR_CODE_SIGNED_BYTES);
  const codeSignature = bytes.slice(QR_CODE_SIGNED_BYTES);
  if (!(await verify(code.certificate.phonePublicKey, codeSignature, codeSigned))) {
    return refuse("qr_signature_invalid", "This QR code's signature is forged.");
  }
  if (revokedPhoneIds.has(code.certificate.phoneId)) {
    return refuse("qr_phone_revoked", "The phone that made this QR code was revoked.");
  }
  const madeAtMs = code.madeAtS * 1000;
  if (madeAtMs > pointNowMs + QR_CLOCK_DRIFT_S * 1000) return refuse("qr_not_yet_valid", "Dated in the future.");
  if (code.madeAtS > code.certificate.expiresAtS || pointNowMs > code.certificate.expiresAtS * 1000) {
    return refuse("qr_expired", "The phone's certificate has expired.");
  }
  if (pointNowMs > madeAtMs + lifetimeS * 1000) return refuse("qr_expired", "This QR code has expired.");
  return parsed;
}
