// RFC 9180 HPKE, base mode (mode 0x00), over WebCrypto only.
//
// Suite: DHKEM(X25519, HKDF-SHA256) (KEM 0x0020), HKDF-SHA256 (KDF 0x0001) and AES-GCM:
// AES-256-GCM (AEAD 0x0002, the one docs/sealing.md uses) or AES-128-GCM (AEAD 0x0001, kept
// so every RFC 9180 test vector of this KEM/KDF can be checked).
//
// Why not a library: the hub's pages load no third-party code, and WebCrypto has every primitive
// needed (X25519, HMAC-SHA256, AES-GCM). HKDF is written out over HMAC because HPKE's labeled
// Extract and Expand are called separately (WebCrypto's "HKDF" algorithm only does both at once),
// and the ephemeral key can be fixed so the RFC's vectors check sealing byte for byte.
//
// Keys travel as raw bytes (Uint8Array): a private key is the 32-byte X25519 scalar as RFC 9180
// serializes it (SerializePrivateKey), a public key the 32-byte u-coordinate.

const subtle = globalThis.crypto.subtle;

export const KEM_X25519_HKDF_SHA256 = 0x0020;
export const KDF_HKDF_SHA256 = 0x0001;
export const AEAD_AES_128_GCM = 0x0001;
export const AEAD_AES_256_GCM = 0x0002;

const MODE_BASE = 0x00;
const N_SECRET = 32; // DHKEM(X25519) shared secret length
const N_PK = 32; // X25519 public key length
const N_SK = 32; // X25519 private key length
const N_H = 32; // SHA-256 output length (HKDF Nh)
const N_N = 12; // AES-GCM nonce length
const N_T = 16; // AES-GCM tag length
const AEAD_KEY_LENGTH = { [AEAD_AES_128_GCM]: 16, [AEAD_AES_256_GCM]: 32 };

// PKCS#8 DER prefix of an X25519 private key (RFC 8410): SEQUENCE { version 0,
// AlgorithmIdentifier { 1.3.101.110 }, OCTET STRING { OCTET STRING (32 bytes) } }.
// WebCrypto only imports X25519 private keys as PKCS#8 or JWK, never raw.
const X25519_PKCS8_PREFIX = hexToBytes("302e020100300506032b656e04220420");

const encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Byte helpers

/** Concatenates byte arrays. */
export function concat(...parts) {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** I2OSP(value, length): big-endian unsigned integer of `length` bytes. */
function i2osp(value, length) {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0 && value > 0; i--) {
    out[i] = value % 256;
    value = Math.floor(value / 256);
  }
  return out;
}

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

/** Accepts a Uint8Array (or ArrayBuffer / typed array view) and returns a Uint8Array copy. */
function bytes(value, name) {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  throw new TypeError(`${name} must be a Uint8Array`);
}

function fixedBytes(value, length, name) {
  const out = bytes(value, name);
  if (out.length !== length) throw new Error(`${name} must have ${length} bytes, not ${out.length}`);
  return out;
}

function base64UrlDecode(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

// ---------------------------------------------------------------------------------------------
// HKDF-SHA256 (RFC 5869) and HPKE's labeled variants (RFC 9180 §4)

async function hmacSHA256(key, data) {
  // An empty HMAC key is the same as 32 zero bytes (HMAC pads keys with zeros to the block
  // size), and WebCrypto refuses zero-length HMAC keys, so the empty salt becomes Nh zeros.
  const keyBytes = key.length === 0 ? new Uint8Array(N_H) : key;
  const hmacKey = await subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await subtle.sign("HMAC", hmacKey, data));
}

/** HKDF-Extract(salt, ikm) = HMAC-SHA256(salt, ikm). */
function hkdfExtract(salt, ikm) {
  return hmacSHA256(salt, ikm);
}

/** HKDF-Expand(prk, info, L): T(i) = HMAC(prk, T(i-1) || info || i), output the first L bytes. */
async function hkdfExpand(prk, info, length) {
  if (length > 255 * N_H) throw new Error("HKDF-Expand: requested length is too large");
  const out = new Uint8Array(length);
  let previous = new Uint8Array(0);
  for (let offset = 0, counter = 1; offset < length; counter++) {
    previous = await hmacSHA256(prk, concat(previous, info, Uint8Array.of(counter)));
    out.set(previous.subarray(0, Math.min(N_H, length - offset)), offset);
    offset += N_H;
  }
  return out;
}

const HPKE_V1 = encoder.encode("HPKE-v1");

/** LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm). */
function labeledExtract(suiteID, salt, label, ikm) {
  return hkdfExtract(salt, concat(HPKE_V1, suiteID, encoder.encode(label), ikm));
}

/** LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L). */
function labeledExpand(suiteID, prk, label, info, length) {
  return hkdfExpand(prk, concat(i2osp(length, 2), HPKE_V1, suiteID, encoder.encode(label), info), length);
}

// suite_id of the KEM ("KEM" || I2OSP(kem_id, 2)) and of the whole HPKE suite (§5.1).
const KEM_SUITE_ID = concat(encoder.encode("KEM"), i2osp(KEM_X25519_HKDF_SHA256, 2));

function hpkeSuiteID(aeadID) {
  return concat(encoder.encode("HPKE"), i2osp(KEM_X25519_HKDF_SHA256, 2), i2osp(KDF_HKDF_SHA256, 2), i2osp(aeadID, 2));
}

// ---------------------------------------------------------------------------------------------
// X25519 over WebCrypto

function importPrivateKey(privateKey) {
  const sk = fixedBytes(privateKey, N_SK, "an X25519 private key");
  return subtle.importKey("pkcs8", concat(X25519_PKCS8_PREFIX, sk), { name: "X25519" }, true, ["deriveBits"]);
}

function importPublicKey(publicKey) {
  const pk = fixedBytes(publicKey, N_PK, "an X25519 public key");
  return subtle.importKey("raw", pk, { name: "X25519" }, true, []);
}

/** The 32-byte public key of a 32-byte X25519 private key. */
export async function publicKeyOf(privateKey) {
  const key = await importPrivateKey(privateKey);
  // The JWK export of a private OKP key carries the public half in `x` (base64url).
  const jwk = await subtle.exportKey("jwk", key);
  if (typeof jwk.x === "string") return base64UrlDecode(jwk.x);
  // Fallback: X25519(sk, 9), the scalar times the base point, is the public key.
  const basePoint = new Uint8Array(N_PK);
  basePoint[0] = 9;
  return new Uint8Array(await subtle.deriveBits({ name: "X25519", public: await importPublicKey(basePoint) }, key, 256));
}

/** DH(skX, pkY): the X25519 shared secret; an all-zero result (small-order point) is an error (§7.1.4). */
async function dh(privateKey, publicKey) {
  let shared;
  try {
    shared = new Uint8Array(
      await subtle.deriveBits({ name: "X25519", public: await importPublicKey(publicKey) }, await importPrivateKey(privateKey), 256),
    );
  } catch (error) {
    // Chromium itself refuses small-order public keys (an all-zero result) with an OperationError.
    throw new Error(`HPKE: X25519 key agreement failed (${error.message || error.name})`);
  }
  if (shared.every((b) => b === 0)) throw new Error("HPKE: X25519 key agreement gave the all-zero value (small-order public key)");
  return shared;
}

/** DeriveKeyPair(ikm) for X25519 (RFC 9180 §7.1.3): sk = LabeledExpand(LabeledExtract("", "dkp_prk", ikm), "sk", "", 32). */
export async function deriveKeyPair(ikm) {
  const dkpPRK = await labeledExtract(KEM_SUITE_ID, new Uint8Array(0), "dkp_prk", bytes(ikm, "ikm"));
  const privateKey = await labeledExpand(KEM_SUITE_ID, dkpPRK, "sk", new Uint8Array(0), N_SK);
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

/** GenerateKeyPair(): 32 random bytes are a valid X25519 private key (the scalar is clamped when used). */
export async function generateKeyPair() {
  const privateKey = crypto.getRandomValues(new Uint8Array(N_SK));
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

/** ExtractAndExpand(dh, kem_context) (§4.1). */
async function extractAndExpand(dhValue, kemContext) {
  const eaePRK = await labeledExtract(KEM_SUITE_ID, new Uint8Array(0), "eae_prk", dhValue);
  return labeledExpand(KEM_SUITE_ID, eaePRK, "shared_secret", kemContext, N_SECRET);
}

// ---------------------------------------------------------------------------------------------
// Key schedule and contexts (§5.1, §5.2, §5.3)

function aeadKeyLength(aeadID) {
  const length = AEAD_KEY_LENGTH[aeadID];
  if (!length) throw new Error(`HPKE: AEAD ${aeadID} is not supported (use 1 for AES-128-GCM or 2 for AES-256-GCM)`);
  return length;
}

/** KeySchedule for base mode: psk and psk_id are empty. */
async function keySchedule(sharedSecret, info, aeadID) {
  const suiteID = hpkeSuiteID(aeadID);
  const empty = new Uint8Array(0);
  const pskIDHash = await labeledExtract(suiteID, empty, "psk_id_hash", empty);
  const infoHash = await labeledExtract(suiteID, empty, "info_hash", info);
  const context = concat(Uint8Array.of(MODE_BASE), pskIDHash, infoHash);
  const secret = await labeledExtract(suiteID, sharedSecret, "secret", empty);
  const key = await labeledExpand(suiteID, secret, "key", context, aeadKeyLength(aeadID));
  const baseNonce = await labeledExpand(suiteID, secret, "base_nonce", context, N_N);
  const exporterSecret = await labeledExpand(suiteID, secret, "exp", context, N_H);
  const aesKey = await subtle.importKey("raw", key, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
  return new Context(suiteID, aesKey, baseNonce, exporterSecret);
}

/**
 * The encryption context shared by sender and recipient: the AEAD key, base nonce, exporter
 * secret and the sequence number. Calls are queued so concurrent seal/open calls still use
 * sequence numbers in call order; the number advances only after a successful seal or open.
 */
class Context {
  #suiteID;
  #key;
  #baseNonce;
  #exporterSecret;
  #sequence = 0;
  #queue = Promise.resolve();

  constructor(suiteID, key, baseNonce, exporterSecret) {
    this.#suiteID = suiteID;
    this.#key = key;
    this.#baseNonce = baseNonce;
    this.#exporterSecret = exporterSecret;
  }

  /** ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn). */
  #nonce() {
    // Sequence numbers stay far below 2^53; RFC 9180's limit is 2^96 - 1.
    if (this.#sequence >= Number.MAX_SAFE_INTEGER) throw new Error("HPKE: message limit reached");
    const seq = i2osp(this.#sequence, N_N);
    return this.#baseNonce.map((b, i) => b ^ seq[i]);
  }

  #serialized(operation) {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => {});
    return result;
  }

  /** The sequence number the next seal/open uses. */
  get sequence() {
    return this.#sequence;
  }

  seal(aad, plaintext) {
    const aadBytes = bytes(aad, "aad");
    const ptBytes = bytes(plaintext, "plaintext");
    return this.#serialized(async () => {
      const ct = await subtle.encrypt({ name: "AES-GCM", iv: this.#nonce(), additionalData: aadBytes, tagLength: 8 * N_T }, this.#key, ptBytes);
      this.#sequence += 1;
      return new Uint8Array(ct);
    });
  }

  open(aad, ciphertext) {
    const aadBytes = bytes(aad, "aad");
    const ctBytes = bytes(ciphertext, "ciphertext");
    return this.#serialized(async () => {
      if (ctBytes.length < N_T) throw new Error("HPKE: the ciphertext cannot be opened (too short)");
      let pt;
      try {
        pt = await subtle.decrypt({ name: "AES-GCM", iv: this.#nonce(), additionalData: aadBytes, tagLength: 8 * N_T }, this.#key, ctBytes);
      } catch {
        throw new Error("HPKE: the ciphertext cannot be opened (wrong key, context or aad, or it was altered)");
      }
      this.#sequence += 1;
      return new Uint8Array(pt);
    });
  }

  /** Export(exporter_context, L) = LabeledExpand(exporter_secret, "sec", exporter_context, L). */
  export(exporterContext, length) {
    return labeledExpand(this.#suiteID, this.#exporterSecret, "sec", bytes(exporterContext, "exporter context"), length);
  }
}

// ---------------------------------------------------------------------------------------------
// Public API: SetupBaseS / SetupBaseR (§5.1.1)

/**
 * Sender side. `options.aeadID` is 2 (AES-256-GCM, default) or 1 (AES-128-GCM);
 * `options.ephemeralPrivateKey` fixes the ephemeral key (tests only; otherwise it is random).
 * Returns { enc, seal(aad, pt), export(exporterContext, L), sequence }.
 */
export async function setupBaseS(publicKeyR, info, options = {}) {
  const aeadID = options.aeadID ?? AEAD_AES_256_GCM;
  aeadKeyLength(aeadID);
  const pkR = fixedBytes(publicKeyR, N_PK, "the recipient public key");
  const infoBytes = bytes(info, "info");
  // Encap(pkR) (§4.1).
  const skE = options.ephemeralPrivateKey ? fixedBytes(options.ephemeralPrivateKey, N_SK, "the ephemeral private key") : crypto.getRandomValues(new Uint8Array(N_SK));
  const enc = await publicKeyOf(skE);
  const sharedSecret = await extractAndExpand(await dh(skE, pkR), concat(enc, pkR));
  const context = await keySchedule(sharedSecret, infoBytes, aeadID);
  return {
    enc,
    seal: (aad, plaintext) => context.seal(aad, plaintext),
    export: (exporterContext, length) => context.export(exporterContext, length),
    get sequence() {
      return context.sequence;
    },
  };
}

/**
 * Recipient side: `enc` from the sender, the recipient's 32-byte private key.
 * Returns { open(aad, ct), export(exporterContext, L), sequence }.
 */
export async function setupBaseR(enc, privateKeyR, info, options = {}) {
  const aeadID = options.aeadID ?? AEAD_AES_256_GCM;
  aeadKeyLength(aeadID);
  const encBytes = fixedBytes(enc, N_PK, "enc");
  const skR = fixedBytes(privateKeyR, N_SK, "the recipient private key");
  const infoBytes = bytes(info, "info");
  // Decap(enc, skR) (§4.1).
  const pkR = await publicKeyOf(skR);
  const sharedSecret = await extractAndExpand(await dh(skR, encBytes), concat(encBytes, pkR));
  const context = await keySchedule(sharedSecret, infoBytes, aeadID);
  return {
    open: (aad, ciphertext) => context.open(aad, ciphertext),
    export: (exporterContext, length) => context.export(exporterContext, length),
    get sequence() {
      return context.sequence;
    },
  };
}
