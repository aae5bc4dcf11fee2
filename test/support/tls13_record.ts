/**
 * TLS 1.3 record protection (RFC 8446 §5.2, §7.1–7.3) in node:crypto, for
 * tests that forge or read encrypted records: traffic keys from a key-log
 * secret (HKDF-Expand-Label), and sealing / opening one record at a sequence
 * number. The cipher suite is found by trial: AES-128-GCM or
 * ChaCha20-Poly1305 for a 32-byte secret (SHA-256), AES-256-GCM for 48 (SHA-384).
 *
 * @module
 */
import { type CipherGCMTypes, createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import type { Plaintext, Protection } from "./record_forger.ts";

/** One direction's record keys under one traffic secret. */
export interface RecordKeys {
  cipher: "aes-128-gcm" | "aes-256-gcm" | "chacha20-poly1305";
  key: Uint8Array;
  iv: Uint8Array;
}

const TAG = 16;

/** The cipher's name, typed for node:crypto's AEAD overloads (whose options ChaCha20-Poly1305 shares). */
const aead = (keys: RecordKeys) => keys.cipher as CipherGCMTypes;

/** HKDF-Expand-Label(secret, label, "", length) for lengths up to one hash block. */
function expandLabel(hash: string, secret: Uint8Array, label: string, length: number): Uint8Array {
  const full = new TextEncoder().encode(`tls13 ${label}`);
  const info = Uint8Array.of(length >> 8, length & 0xff, full.length, ...full, 0, 1); // context "", then T(1)'s counter
  return new Uint8Array(createHmac(hash, secret).update(info).digest()).subarray(0, length);
}

/** The record keys each suite would derive from `secret` (hex, from a key-log line). */
export function candidateKeys(secretHex: string): RecordKeys[] {
  const secret = Uint8Array.from(secretHex.match(/../g)!.map((h) => parseInt(h, 16)));
  const suites = secret.length === 48
    ? [{ cipher: "aes-256-gcm", hash: "sha384", keyLength: 32 }] as const
    : [{ cipher: "aes-128-gcm", hash: "sha256", keyLength: 16 }, {
      cipher: "chacha20-poly1305",
      hash: "sha256",
      keyLength: 32,
    }] as const;
  return suites.map(({ cipher, hash, keyLength }) => ({
    cipher,
    key: expandLabel(hash, secret, "key", keyLength),
    iv: expandLabel(hash, secret, "iv", 12),
  }));
}

/**
 * Whether this runtime's node:crypto has the AEAD of a TLS 1.3 or 1.2 suite
 * (Bun's BoringSSL-backed node:crypto has no ChaCha20-Poly1305).
 */
export function sealable(suite: string): boolean {
  const cipher = suite.includes("CHACHA20")
    ? "chacha20-poly1305"
    : /AES_?256/.test(suite)
    ? "aes-256-gcm"
    : "aes-128-gcm";
  try {
    createCipheriv(
      cipher as CipherGCMTypes,
      new Uint8Array(cipher === "aes-128-gcm" ? 16 : 32),
      new Uint8Array(12),
      {
        authTagLength: TAG,
      },
    );
    return true;
  } catch {
    return false;
  }
}

/** The per-record nonce: the IV XOR the 64-bit sequence number, right-aligned. */
function nonce(iv: Uint8Array, seq: number): Uint8Array {
  const out = iv.slice();
  for (let i = 0, s = BigInt(seq); i < 8; i++, s >>= 8n) out[11 - i] ^= Number(s & 0xffn);
  return out;
}

function header(length: number): Uint8Array {
  return Uint8Array.of(23, 3, 3, length >> 8, length & 0xff);
}

/** An application_data record carrying `inner` (TLSInnerPlaintext: content, type, padding) as it is. */
export function sealRecord(keys: RecordKeys, seq: number, inner: Uint8Array): Uint8Array {
  const head = header(inner.length + TAG);
  const cipher = createCipheriv(aead(keys), keys.key, nonce(keys.iv, seq), { authTagLength: TAG });
  cipher.setAAD(head);
  const body = [cipher.update(inner), cipher.final(), cipher.getAuthTag()];
  const out = new Uint8Array(head.length + inner.length + TAG);
  out.set(head);
  let at = head.length;
  for (const part of body) out.set(part, (at += part.length) - part.length);
  return out;
}

/** The TLSInnerPlaintext of `record` (header included), or null when it does not open under `keys` at `seq`. */
export function openRecord(keys: RecordKeys, seq: number, record: Uint8Array): Uint8Array | null {
  if (record.length < 5 + TAG) return null;
  const decipher = createDecipheriv(aead(keys), keys.key, nonce(keys.iv, seq), { authTagLength: TAG });
  decipher.setAAD(record.subarray(0, 5));
  decipher.setAuthTag(record.subarray(record.length - TAG));
  try {
    const head = decipher.update(record.subarray(5, record.length - TAG));
    const tail = decipher.final();
    const out = new Uint8Array(head.length + tail.length);
    out.set(head);
    out.set(tail, head.length);
    return out;
  } catch {
    return null;
  }
}

/** TLSInnerPlaintext: `content`, then its real content `type` (RFC 8446 §5.2), no padding. */
export function innerPlaintext(type: number, content: Uint8Array): Uint8Array {
  const out = new Uint8Array(content.length + 1);
  out.set(content);
  out[content.length] = type;
  return out;
}

/** The real content type and content of an opened TLSInnerPlaintext (padding zeros stripped); type 0 if none. */
export function parseInner(inner: Uint8Array): { type: number; content: Uint8Array } {
  let end = inner.length;
  while (end > 0 && inner[end - 1] === 0) end--;
  return end === 0 ? { type: 0, content: inner.subarray(0, 0) } : {
    type: inner[end - 1],
    content: inner.subarray(0, end - 1),
  };
}

/**
 * TLS 1.3 records for the forger: records in the clear as they are, then the
 * handshake-traffic ones, then the application-traffic ones (which it seals
 * more of: a test's payload is a TLSInnerPlaintext, see `innerPlaintext`).
 * The suite is the one whose keys open the first encrypted record.
 */
export const tls13: Protection<Uint8Array> = {
  read(side, records, secrets) {
    const keysOf = (label: string) => {
      const hex = secrets.get(`${side.toUpperCase()}_${label}`);
      return hex ? candidateKeys(hex) : null;
    };
    const handshake = keysOf("HANDSHAKE_TRAFFIC_SECRET");
    const application = keysOf("TRAFFIC_SECRET_0");
    const plaintexts: Plaintext[] = [];
    let suite = -1;
    let handshakeSeq = 0;
    let seq = 0;
    let stalled = false;
    const open = (keys: RecordKeys[], at: number, record: Uint8Array) => {
      for (let i = 0; i < keys.length; i++) {
        if (suite >= 0 && i !== suite) continue;
        const inner = openRecord(keys[i], at, record);
        if (inner) return (suite = i), inner;
      }
      return null;
    };
    for (const record of records[side]) {
      if (record[0] !== 23) { // handshake in the clear, ChangeCipherSpec, an alert in the clear
        plaintexts.push({ type: record[0], content: record.subarray(5) });
        continue;
      }
      if (!handshake || !application) {
        stalled = true;
        break;
      }
      const early = seq === 0 ? open(handshake, handshakeSeq, record) : null;
      if (early) handshakeSeq++;
      const inner = early ?? open(application, seq, record);
      if (!inner) break; // past a KeyUpdate, or not ours to read
      if (!early) seq++;
      plaintexts.push(parseInner(inner));
    }
    return {
      plaintexts,
      stalled,
      next: seq,
      seal(inner, at) {
        if (!application) throw new Error(`no ${side} TRAFFIC_SECRET_0 in the key log yet (TLS 1.3 only)`);
        return sealRecord(application[Math.max(suite, 0)], at, inner);
      },
    };
  },
};
