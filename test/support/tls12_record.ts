/**
 * TLS 1.2 AEAD record protection (RFC 5246 §5, §6.2.3.3, §6.3; RFC 5288;
 * RFC 7905) in node:crypto, for tests that forge or read encrypted records:
 * the key block from a key-log master secret and the two hellos' randoms, and
 * sealing / opening one record at a sequence number. The suite is read from
 * the ServerHello; only the ECDHE AES-GCM and ChaCha20-Poly1305 suites are known.
 *
 * @module
 */
import { type CipherGCMTypes, createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import type { Plaintext, Protection } from "./record_forger.ts";

/** One direction's record keys. */
export interface Tls12Keys {
  cipher: "aes-128-gcm" | "aes-256-gcm" | "chacha20-poly1305";
  key: Uint8Array;
  /** The 4-byte GCM salt, or ChaCha20-Poly1305's 12-byte IV. */
  iv: Uint8Array;
}

const TAG = 16;
/** GCM's explicit nonce, sent before the ciphertext (ChaCha20-Poly1305 has none). */
const EXPLICIT = 8;

/** ECDHE suites by number: their AEAD, PRF hash and key length. */
const suites: Record<number, { cipher: Tls12Keys["cipher"]; hash: string; keyLength: number }> = {
  0xc02b: { cipher: "aes-128-gcm", hash: "sha256", keyLength: 16 },
  0xc02f: { cipher: "aes-128-gcm", hash: "sha256", keyLength: 16 },
  0xc02c: { cipher: "aes-256-gcm", hash: "sha384", keyLength: 32 },
  0xc030: { cipher: "aes-256-gcm", hash: "sha384", keyLength: 32 },
  0xcca8: { cipher: "chacha20-poly1305", hash: "sha256", keyLength: 32 },
  0xcca9: { cipher: "chacha20-poly1305", hash: "sha256", keyLength: 32 },
};

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
};

/** PRF(secret, label, seed) (RFC 5246 §5): P_hash, `length` bytes. */
function prf(hash: string, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const labelled = concat(new TextEncoder().encode(label), seed);
  const out: Uint8Array[] = [];
  let a = labelled;
  for (let have = 0; have < length;) {
    a = new Uint8Array(createHmac(hash, secret).update(a).digest());
    const block = new Uint8Array(createHmac(hash, secret).update(concat(a, labelled)).digest());
    out.push(block);
    have += block.length;
  }
  return concat(...out).subarray(0, length);
}

/** The random of a ClientHello or ServerHello record (the record's first message). */
function helloRandom(record: Uint8Array): Uint8Array {
  return record.slice(11, 43); // header 5, message header 4, version 2
}

/** The cipher suite number a ServerHello record names. */
function serverHelloSuite(record: Uint8Array): number {
  const at = 43 + 1 + record[43]; // past the session id
  return (record[at] << 8) | record[at + 1];
}

/**
 * Both directions' record keys (RFC 5246 §6.3; AEAD suites have no MAC key),
 * or null for a suite this module does not know.
 */
function keyBlock(
  suite: number,
  masterHex: string,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
): { client: Tls12Keys; server: Tls12Keys } | null {
  const known = suites[suite];
  if (!known) return null;
  const { cipher, hash, keyLength } = known;
  const ivLength = cipher === "chacha20-poly1305" ? 12 : 4;
  const master = Uint8Array.from(masterHex.match(/../g)!.map((h) => parseInt(h, 16)));
  const block = prf(
    hash,
    master,
    "key expansion",
    concat(serverRandom, clientRandom),
    2 * (keyLength + ivLength),
  );
  const part = (i: number, length: number, from: number) =>
    block.slice(from + i * length, from + (i + 1) * length);
  return {
    client: { cipher, key: part(0, keyLength, 0), iv: part(0, ivLength, 2 * keyLength) },
    server: { cipher, key: part(1, keyLength, 0), iv: part(1, ivLength, 2 * keyLength) },
  };
}

/** `seq` as 8 big-endian bytes. */
function seqBytes(seq: number): Uint8Array {
  const out = new Uint8Array(8);
  for (let i = 7, s = BigInt(seq); i >= 0; i--, s >>= 8n) out[i] = Number(s & 0xffn);
  return out;
}

/** The AEAD nonce: GCM's salt then explicit part, or ChaCha20-Poly1305's IV XOR the sequence number. */
function nonce(keys: Tls12Keys, seq: number, explicit: Uint8Array): Uint8Array {
  if (keys.cipher !== "chacha20-poly1305") return concat(keys.iv, explicit);
  const out = keys.iv.slice();
  seqBytes(seq).forEach((b, i) => (out[4 + i] ^= b));
  return out;
}

/** additional_data: seq_num, type, version, the plaintext's length. */
const aad = (seq: number, type: number, version: number, length: number) =>
  concat(seqBytes(seq), Uint8Array.of(type, version >> 8, version & 0xff, length >> 8, length & 0xff));

/** A record of `type` carrying `content` sealed under `keys` at `seq` (the explicit nonce is `seq`). */
function seal12(keys: Tls12Keys, seq: number, type: number, content: Uint8Array): Uint8Array {
  const explicit = keys.cipher === "chacha20-poly1305" ? new Uint8Array(0) : seqBytes(seq);
  const cipher = createCipheriv(keys.cipher as CipherGCMTypes, keys.key, nonce(keys, seq, explicit), {
    authTagLength: TAG,
  });
  cipher.setAAD(aad(seq, type, 0x0303, content.length));
  const body = concat(explicit, cipher.update(content), cipher.final(), cipher.getAuthTag());
  return concat(Uint8Array.of(type, 3, 3, body.length >> 8, body.length & 0xff), body);
}

/** The content of `record` (header included), or null when it does not open under `keys` at `seq`. */
function open12(keys: Tls12Keys, seq: number, record: Uint8Array): Uint8Array | null {
  const explicitLength = keys.cipher === "chacha20-poly1305" ? 0 : EXPLICIT;
  const length = record.length - 5 - explicitLength - TAG;
  if (length < 0) return null;
  const decipher = createDecipheriv(
    keys.cipher as CipherGCMTypes,
    keys.key,
    nonce(keys, seq, record.subarray(5, 5 + explicitLength)),
    { authTagLength: TAG },
  );
  decipher.setAAD(aad(seq, record[0], (record[1] << 8) | record[2], length));
  decipher.setAuthTag(record.subarray(record.length - TAG));
  try {
    return concat(
      decipher.update(record.subarray(5 + explicitLength, record.length - TAG)),
      decipher.final(),
    );
  } catch {
    return null;
  }
}

/**
 * TLS 1.2 records for the forger: records in the clear up to the end's
 * ChangeCipherSpec, then protected ones from sequence number 0 (its Finished)
 * under the keys of the key log's CLIENT_RANDOM line (the relay has one
 * connection, so one such line). A test's payload is a content type and its
 * content.
 */
export const tls12: Protection<Plaintext> = {
  read(side, records, secrets) {
    const own = records[side];
    const ccs = own.findIndex((r) => r[0] === 20);
    const clear = ccs < 0 ? own : own.slice(0, ccs + 1);
    const plaintexts = clear.map((r) => ({ type: r[0], content: r.subarray(5) }));
    const [clientHello] = records.client, [serverHello] = records.server;
    const master = secrets.get("CLIENT_RANDOM");
    const keys = master && clientHello && serverHello
      ? keyBlock(serverHelloSuite(serverHello), master, helloRandom(clientHello), helloRandom(serverHello))
        ?.[side]
      : undefined;
    let seq = 0;
    for (const record of ccs < 0 ? [] : own.slice(ccs + 1)) {
      const content = keys && open12(keys, seq, record);
      if (!content) break;
      plaintexts.push({ type: record[0], content });
      seq++;
    }
    return {
      plaintexts,
      stalled: ccs >= 0 && !keys,
      next: seq,
      seal({ type, content }, at) {
        if (!keys) {
          throw new Error(`no keys for the ${side}'s records (no CLIENT_RANDOM logged, or an unknown suite)`);
        }
        return seal12(keys, at, type, content);
      },
    };
  },
};
