// Credential sealing, version 1 (docs/sealing.md is the normative format; this module follows
// it byte for byte, as the Swift `Sealing` module does, and the browser tests check both agree).
//
// What happens in the browser: the vault key is unlocked with the passphrase (or the recovery
// key); a destination's credential is boxed under a fresh destination data key (DDK); the DDK is
// wrapped under the vault key for the hub to store, and HPKE-sealed to every server that uses
// the destination. The hub only ever sees the results. WebCrypto only, no libraries.

import { publicKeyOf, setupBaseS, setupBaseR } from "./hpke.js";

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export const VERSION = 1;
export const KDF = "PBKDF2-SHA256";
export const MIN_ITERATIONS = 600_000; // the hub refuses fewer (and more than MAX_ITERATIONS)
export const MAX_ITERATIONS = 10_000_000;
export const MIN_PASSPHRASE_LENGTH = 12;

// The messages a person sees. "cannot open" is one message on purpose: a wrong server, a wrong
// destination and a swapped or altered envelope must not be told apart.
export const MESSAGES = Object.freeze({
  cannotOpen: "the credential cannot be opened on this server (it was sealed for another server or destination, or it was altered)",
  wrongPassphrase: "the vault passphrase is wrong; try again, or unlock with the recovery key",
  wrongRecoveryKey: "the recovery key is wrong; check it against the printed copy (52 letters and digits in groups of 4)",
  malformedRecoveryKey: "the recovery key is not well formed: it has 52 letters A–Z and digits 2–7 (dashes and spaces do not count)",
  shortPassphrase: `the vault passphrase is too short: use at least ${MIN_PASSPHRASE_LENGTH} characters`,
  wrongDestinationKey: "the destination's key record cannot be opened with this vault (it belongs to another account or destination, or it was altered)",
});

// ---------------------------------------------------------------------------------------------
// Binding strings (the `aad`s and the HPKE `info`), exactly as in docs/sealing.md

/** C = "mzpanel-envelope/v1\n" + accountID + "\n" + destinationID + "\n" + serverID + "\n" + keyID */
export function envelopeContext(accountID, destinationID, serverID, keyID) {
  return `mzpanel-envelope/v1\n${accountID}\n${destinationID}\n${serverID}\n${keyID}`;
}

/** aad of the credential box: "mzpanel-credential/v1\n" + accountID + "\n" + destinationID */
export function credentialAAD(accountID, destinationID) {
  return `mzpanel-credential/v1\n${accountID}\n${destinationID}`;
}

/** aad of the vault boxes; part is "passphrase" or "recovery". */
export function vaultAAD(accountID, part) {
  return `mzpanel-vault/v1\n${accountID}\n${part}`;
}

/** aad of the wrapped DDK: "mzpanel-ddk/v1\n" + accountID + "\n" + destinationID */
export function destinationKeyAAD(accountID, destinationID) {
  return `mzpanel-ddk/v1\n${accountID}\n${destinationID}`;
}

// ---------------------------------------------------------------------------------------------
// Encodings: base64 with padding (RFC 4648 §4), base64url without padding, base32, hex

/** Standard base64 with padding. */
export function base64Encode(data) {
  const view = toBytes(data, "data");
  let binary = "";
  // Chunks keep String.fromCharCode's argument count small for large inputs.
  for (let i = 0; i < view.length; i += 0x8000) binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Decodes standard base64 with padding; throws on anything else (no whitespace, no base64url). */
export function base64Decode(text) {
  if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new Error("not base64 (standard alphabet with padding)");
  }
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** base64url without padding (RFC 4648 §5), as in peer passwords. */
export function base64UrlEncode(data) {
  return base64Encode(data).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32, no padding. */
export function base32Encode(data) {
  const view = toBytes(data, "data");
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of view) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1; // keep only the bits not yet written
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** RFC 4648 base32 without padding, upper case only; returns null on a character outside A–Z2–7. */
function base32Decode(text) {
  const out = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text) {
    const value = BASE32_ALPHABET.indexOf(char);
    if (value < 0) return null;
    buffer = ((buffer << 5) | value) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

export function hexEncode(data) {
  return Array.from(toBytes(data, "data"), (b) => b.toString(16).padStart(2, "0")).join("");
}

function toBytes(value, name) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`${name} must be a Uint8Array`);
}

function utf8(text) {
  return encoder.encode(text);
}

function randomBytes(count) {
  return crypto.getRandomValues(new Uint8Array(count));
}

// ---------------------------------------------------------------------------------------------
// Boxes: AES-256-GCM, {"nonce": base64(12 bytes), "ct": base64(ciphertext ‖ 16-byte tag)}

async function aesKey(key, usage) {
  if (toBytes(key, "key").length !== 32) throw new Error("a box key has 32 bytes");
  return subtle.importKey("raw", key, { name: "AES-GCM" }, false, [usage]);
}

/** Seals `plaintext` (bytes) under a 32-byte key with a random nonce. */
export async function sealBox(key, aad, plaintext) {
  const nonce = randomBytes(12);
  const ct = await subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: utf8(aad), tagLength: 128 }, await aesKey(key, "encrypt"), plaintext);
  return { nonce: base64Encode(nonce), ct: base64Encode(new Uint8Array(ct)) };
}

/** Opens a box; returns null when the key or aad is wrong, or the box is malformed or altered. */
export async function openBox(box, key, aad) {
  const parts = boxParts(box);
  if (!parts) return null;
  try {
    const pt = await subtle.decrypt({ name: "AES-GCM", iv: parts.nonce, additionalData: utf8(aad), tagLength: 128 }, await aesKey(key, "decrypt"), parts.ct);
    return new Uint8Array(pt);
  } catch {
    return null;
  }
}

/** The decoded nonce and ct of a box, or null when it is not a well-formed box. */
function boxParts(box) {
  if (!box || typeof box !== "object" || typeof box.nonce !== "string" || typeof box.ct !== "string") return null;
  try {
    const nonce = base64Decode(box.nonce);
    const ct = base64Decode(box.ct);
    if (nonce.length !== 12 || ct.length < 16) return null;
    return { nonce, ct };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Key ids

/** SHA-256 of the 32 raw public-key bytes, first 16 bytes, lowercase hex in 8 groups of 4 joined by ':'. */
export async function fingerprint(publicKey) {
  const digest = new Uint8Array(await subtle.digest("SHA-256", toBytes(publicKey, "the public key")));
  const hex = hexEncode(digest.subarray(0, 16));
  return hex.match(/.{4}/g).join(":");
}

// ---------------------------------------------------------------------------------------------
// Vault

/** Length in user-perceived characters (grapheme clusters, as Swift's String.count). */
function characterCount(text) {
  if (typeof Intl !== "undefined" && Intl.Segmenter) {
    let count = 0;
    for (const _ of new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text)) count++;
    return count;
  }
  return [...text].length;
}

function checkIterations(iterations) {
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new Error(`the vault's PBKDF2 iterations (${iterations}) are out of range: use 600,000 to 10,000,000`);
  }
}

/** The passphrase key: PBKDF2-HMAC-SHA256(UTF-8 passphrase, salt, iterations), 32 bytes. */
async function passphraseKey(passphrase, salt, iterations) {
  const material = await subtle.importKey("raw", utf8(passphrase), "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, material, 256));
}

/** The recovery key as shown to the user: base32 of 32 bytes, 52 characters in 13 groups of 4 joined by '-'. */
export function formatRecoveryKey(recoveryKey) {
  const key = toBytes(recoveryKey, "the recovery key");
  if (key.length !== 32) throw new Error("a recovery key has 32 bytes");
  return base32Encode(key).match(/.{4}/g).join("-");
}

/** Reads a recovery key as typed: '-', spaces and case are ignored. Throws when it is not 52 base32 characters. */
export function parseRecoveryKey(text) {
  if (typeof text !== "string") throw new Error(MESSAGES.malformedRecoveryKey);
  const compact = text.replace(/[-\s]/g, "").toUpperCase();
  const key = compact.length === 52 ? base32Decode(compact) : null;
  if (!key || key.length !== 32) throw new Error(MESSAGES.malformedRecoveryKey);
  return key;
}

/**
 * Creates an account's vault: a random vault key boxed under the passphrase key and under a
 * random recovery key. Returns the vault document for `PUT /api/v1/vault`, the recovery key to
 * show once, and the vault key.
 */
export async function createVault(accountID, passphrase, { iterations = MIN_ITERATIONS } = {}) {
  if (typeof passphrase !== "string" || characterCount(passphrase) < MIN_PASSPHRASE_LENGTH) throw new Error(MESSAGES.shortPassphrase);
  checkIterations(iterations);
  const salt = randomBytes(16);
  const vaultKey = randomBytes(32);
  const recoveryKey = randomBytes(32);
  const vault = {
    v: VERSION,
    kdf: KDF,
    iterations,
    salt: base64Encode(salt),
    passphrase: await sealBox(await passphraseKey(passphrase, salt, iterations), vaultAAD(accountID, "passphrase"), vaultKey),
    recovery: await sealBox(recoveryKey, vaultAAD(accountID, "recovery"), vaultKey),
  };
  const signed = await addSigningKey(accountID, vault, vaultKey);
  return { vault: signed.vault, recoveryKey: formatRecoveryKey(recoveryKey), vaultKey, signingKey: signed.signingKey };
}

function checkVault(vault) {
  if (!vault || typeof vault !== "object") throw new Error("the vault document is missing");
  if (vault.v !== VERSION) throw new Error(`the vault format ${vault.v} is unknown; this page reads version ${VERSION}`);
  if (vault.kdf !== KDF) throw new Error(`the vault's key derivation "${vault.kdf}" is not supported (only ${KDF})`);
  checkIterations(vault.iterations);
  let salt;
  try {
    salt = base64Decode(vault.salt);
  } catch {
    salt = null;
  }
  if (!salt || salt.length < 16 || salt.length > 64) throw new Error("the vault's salt is not base64 of 16 to 64 bytes");
  return salt;
}

/** Unlocks the vault with the passphrase; returns the 32-byte vault key. */
export async function unlockVault(accountID, vault, passphrase) {
  const salt = checkVault(vault);
  if (typeof passphrase !== "string") throw new Error(MESSAGES.wrongPassphrase);
  const key = await passphraseKey(passphrase, salt, vault.iterations);
  const vaultKey = await openBox(vault.passphrase, key, vaultAAD(accountID, "passphrase"));
  if (!vaultKey || vaultKey.length !== 32) throw new Error(MESSAGES.wrongPassphrase);
  return vaultKey;
}

/** aad of a member's boxed private key (docs/sealing.md, "Member wrappings"). */
function memberKeyAAD(accountID, memberID) {
  return `mzpanel-member-key/v1\n${accountID}\n${memberID}`;
}

/**
 * The vault key through the caller's own wrapping (`vault.member`, which GET /api/v1/vault adds
 * when they have a member key): their private key opened with their own passphrase, then the
 * vault key HPKE-opened from the wrapping. Returns null when the passphrase is not theirs (the
 * caller then tries the shared vault passphrase); throws when the key or wrapping was altered.
 */
export async function unlockVaultAsMember(accountID, member, passphrase) {
  const key = member?.key;
  if (!key || typeof member.wrapping !== "string" || key.v !== 1 || key.memberID !== member.memberID) return null;
  checkIterations(key.iterations);
  let salt;
  try {
    salt = base64Decode(key.salt);
  } catch {
    return null;
  }
  if (salt.length !== 16 || typeof passphrase !== "string") return null;
  const privateKey = await openBox(key.privateKey, await passphraseKey(passphrase, salt, key.iterations), memberKeyAAD(accountID, member.memberID));
  if (!privateKey || privateKey.length !== 32) return null;
  const publicKey = await publicKeyOf(privateKey);
  if (base64Encode(publicKey) !== key.publicKey) throw new Error("your member key's public half is not its private key's: the member key was altered");
  const keyID = await fingerprint(publicKey);
  const parts = member.wrapping.split(".");
  if (parts.length !== 4 || parts[0] !== "1" || parts[1] !== keyID) throw new Error("your wrapping of the vault is not for your member key; ask to be granted again");
  const context = utf8(`mzpanel-member-vault/v1\n${accountID}\n${member.memberID}\n${keyID}`);
  try {
    const recipient = await setupBaseR(base64Decode(parts[2]), privateKey, context);
    const vaultKey = new Uint8Array(await recipient.open(context, base64Decode(parts[3])));
    if (vaultKey.length !== 32) throw new Error("not a vault key");
    return vaultKey;
  } catch {
    throw new Error("your wrapping of the vault does not open: it was altered; ask to be granted again");
  }
}

/**
 * Unlocks the vault with what was typed: the member's own passphrase when they have a wrapping
 * (tried first), else the shared vault passphrase. Returns the 32-byte vault key.
 */
export async function unlockVaultWithPassphrase(accountID, vault, passphrase) {
  if (vault?.member?.wrapping) {
    const vaultKey = await unlockVaultAsMember(accountID, vault.member, passphrase);
    if (vaultKey) return vaultKey;
  }
  return unlockVault(accountID, vault, passphrase);
}

/** Unlocks the vault with the recovery key as the user typed it; returns the 32-byte vault key. */
export async function unlockVaultWithRecoveryKey(accountID, vault, recoveryKeyText) {
  checkVault(vault);
  const recoveryKey = parseRecoveryKey(recoveryKeyText);
  const vaultKey = await openBox(vault.recovery, recoveryKey, vaultAAD(accountID, "recovery"));
  if (!vaultKey || vaultKey.length !== 32) throw new Error(MESSAGES.wrongRecoveryKey);
  return vaultKey;
}

/**
 * A new vault document for a new passphrase, keeping the vault key and the recovery box (so the
 * printed recovery key stays valid). The caller has unlocked the vault first.
 */
export async function changeVaultPassphrase(accountID, vault, vaultKey, newPassphrase, { iterations = MIN_ITERATIONS } = {}) {
  checkVault(vault);
  if (typeof newPassphrase !== "string" || characterCount(newPassphrase) < MIN_PASSPHRASE_LENGTH) throw new Error(MESSAGES.shortPassphrase);
  checkIterations(iterations);
  if (toBytes(vaultKey, "the vault key").length !== 32) throw new Error("a vault key has 32 bytes");
  const salt = randomBytes(16);
  return {
    v: VERSION,
    kdf: KDF,
    iterations,
    salt: base64Encode(salt),
    passphrase: await sealBox(await passphraseKey(newPassphrase, salt, iterations), vaultAAD(accountID, "passphrase"), vaultKey),
    recovery: { nonce: vault.recovery.nonce, ct: vault.recovery.ct },
    ...(vault.signing ? { signing: { nonce: vault.signing.nonce, ct: vault.signing.ct }, signingKey: vault.signingKey } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The account signing key (Ed25519, its 32-byte seed boxed under the vault key) and server
// certificates

// PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410): WebCrypto imports private keys only so.
const ED25519_PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

function base64UrlDecode(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/");
  return base64Decode(padded + "=".repeat((4 - (padded.length % 4)) % 4));
}

async function signingKeyFromSeed(seed) {
  const pkcs8 = new Uint8Array(48);
  pkcs8.set(ED25519_PKCS8_PREFIX);
  pkcs8.set(seed, 16);
  const privateKey = await subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  const publicKey = base64UrlDecode((await subtle.exportKey("jwk", privateKey)).x);
  return { privateKey, publicKey, fingerprint: await fingerprint(publicKey) };
}

/** A vault document with a new signing key (for vaults made before signing existed); returns it and the key. */
export async function addSigningKey(accountID, vault, vaultKey) {
  const seed = randomBytes(32);
  const signingKey = await signingKeyFromSeed(seed);
  const signing = await sealBox(vaultKey, vaultAAD(accountID, "signing"), seed);
  // `member` is the caller's own member key the hub adds to GET /api/v1/vault; it is not part of the document.
  const { member: _member, ...stored } = vault;
  return { vault: { ...stored, signing, signingKey: base64Encode(signingKey.publicKey) }, signingKey };
}

/**
 * The account signing key inside an unlocked vault, or null for a vault made before signing
 * existed. Throws when the box does not open or holds another key than the document names.
 */
export async function openSigningKey(accountID, vault, vaultKey) {
  if (!vault.signing) return null;
  const seed = await openBox(vault.signing, vaultKey, vaultAAD(accountID, "signing"));
  if (!seed || seed.length !== 32) throw new Error("the vault's signing key does not open with this vault key: the vault document was altered");
  const signingKey = await signingKeyFromSeed(seed);
  if (vault.signingKey !== base64Encode(signingKey.publicKey)) {
    throw new Error("the vault's public signing key is not the one inside it: the vault document was altered");
  }
  return signingKey;
}

/** "mzpanel-server-certificate/v1\n" + accountID + "\n" + serverID + "\n" + base64(server public key) */
export function certificateMessage(accountID, serverID, serverPublicKey) {
  return `mzpanel-server-certificate/v1\n${accountID}\n${serverID}\n${base64Encode(publicKeyBytes(serverPublicKey))}`;
}

/** The certificate of a server key: base64 of the account key's Ed25519 signature. */
export async function certifyServer(accountID, serverID, serverPublicKey, signingKey) {
  const message = utf8(certificateMessage(accountID, serverID, serverPublicKey));
  return base64Encode(new Uint8Array(await subtle.sign({ name: "Ed25519" }, signingKey.privateKey, message)));
}

/** True when `certificate` is the account key's signature of this account, server and key. */
export async function verifyServerCertificate(certificate, accountID, serverID, serverPublicKey, accountPublicKey) {
  if (typeof certificate !== "string" || !certificate) return false;
  let signature;
  try {
    signature = base64Decode(certificate);
  } catch {
    return false;
  }
  const key = await subtle.importKey("raw", toBytes(accountPublicKey, "the account key"), { name: "Ed25519" }, false, ["verify"]);
  return subtle.verify({ name: "Ed25519" }, key, signature, utf8(certificateMessage(accountID, serverID, serverPublicKey)));
}

// ---------------------------------------------------------------------------------------------
// Signed manifests (docs/sealing.md): what a person decided about a job or destination, signed
// with the account key; agents that pinned the key run nothing else.

const MANIFEST_CONTEXT = "mzpanel-manifest/v1\n";

/** The job's manifest document, from the job as the API answers it. */
export function jobManifest(job, version) {
  const document = {
    type: "job",
    version,
    accountID: job.accountID,
    serverID: job.serverID,
    jobID: job.id,
    kind: job.kind,
    sources: job.sources,
    schedule: job.schedule,
    retention: job.retention,
    destinationIDs: job.destinationIDs,
  };
  if (job.checkSubsets !== undefined && job.checkSubsets !== null) document.checkSubsets = job.checkSubsets;
  if (job.pingURL !== undefined && job.pingURL !== null) document.pingURL = job.pingURL;
  if (job.hooks !== undefined && job.hooks !== null) document.hooks = job.hooks;
  if (job.destinationRetention !== undefined && job.destinationRetention !== null) document.destinationRetention = job.destinationRetention;
  if (job.drill !== undefined && job.drill !== null) document.drill = job.drill;
  if (job.window !== undefined && job.window !== null) document.window = job.window;
  if (job.spreadSeconds !== undefined && job.spreadSeconds !== null) document.spreadSeconds = job.spreadSeconds;
  return document;
}

/** The destination's manifest document: its kind and every non-secret setting. */
export function destinationManifest(destination, version) {
  return { type: "destination", version, accountID: destination.accountID, destinationID: destination.id, kind: destination.kind, settings: destination.settings };
}

/** A restore run's manifest document: the run, the server that carries it out and its whole plan. */
export function restoreManifest(run, version) {
  return { type: "restore", version, accountID: run.accountID, runID: run.id, serverID: run.serverID, jobID: run.jobID, plan: run.restore };
}

/** The next version after `previous` (a stored manifest or null): this clock in ms, always above the previous one. */
export function nextManifestVersion(previous, now = Date.now()) {
  let last = 0;
  try {
    if (previous && previous.body) last = Number(JSON.parse(new TextDecoder().decode(base64Decode(previous.body))).version) || 0;
  } catch {
    last = 0;
  }
  return Math.max(now, last + 1);
}

/** Signs a manifest document: { body: base64(JSON), signature: base64(Ed25519 over context + body) }. */
export async function signManifest(document, signingKey) {
  const body = utf8(JSON.stringify(document));
  const context = utf8(MANIFEST_CONTEXT);
  const message = new Uint8Array(context.length + body.length);
  message.set(context, 0);
  message.set(body, context.length);
  const signature = new Uint8Array(await subtle.sign({ name: "Ed25519" }, signingKey.privateKey, message));
  return { body: base64Encode(body), signature: base64Encode(signature) };
}

// ---------------------------------------------------------------------------------------------
// Destination key records

/** Checks a credential: a plain object of strings with a non-empty `repositoryPassword`. */
function checkCredential(credential) {
  if (!credential || typeof credential !== "object" || Array.isArray(credential)) throw new Error("a credential is an object of strings");
  for (const [name, value] of Object.entries(credential)) {
    if (typeof value !== "string") throw new Error(`the credential member ${name} must be a string`);
  }
  if (!credential.repositoryPassword) throw new Error("a credential needs repositoryPassword (the restic repository password)");
}

/** JSON with members sorted by name (as the Swift side writes it; any order is valid to read). */
function sortedJSON(object) {
  const sorted = {};
  for (const name of Object.keys(object).sort()) sorted[name] = object[name];
  return JSON.stringify(sorted);
}

/**
 * A destination's key record: a fresh DDK wrapped under the vault key and the credential boxed
 * under the DDK. Returns the record (the destination's `credentialKey`) and the DDK, which the
 * caller seals to each server with sealEnvelope.
 */
export async function createDestinationKey(accountID, destinationID, vaultKey, credential) {
  checkCredential(credential);
  if (toBytes(vaultKey, "the vault key").length !== 32) throw new Error("a vault key has 32 bytes");
  const ddk = randomBytes(32);
  const record = {
    v: VERSION,
    wrappedKey: await sealBox(vaultKey, destinationKeyAAD(accountID, destinationID), ddk),
    credential: await sealBox(ddk, credentialAAD(accountID, destinationID), utf8(sortedJSON(credential))),
  };
  return { record, ddk };
}

/**
 * Unwraps a destination's DDK with the vault key. The credential box is returned as stored (it
 * is never opened in the browser after it was made).
 */
export async function openDestinationKey(accountID, destinationID, vaultKey, record) {
  if (!record || typeof record !== "object") throw new Error("the destination has no key record");
  if (record.v !== VERSION) throw new Error(`the key record format ${record.v} is unknown; this page reads version ${VERSION}`);
  if (!boxParts(record.credential)) throw new Error("the destination's key record has no well-formed credential box");
  const ddk = await openBox(record.wrappedKey, vaultKey, destinationKeyAAD(accountID, destinationID));
  if (!ddk || ddk.length !== 32) throw new Error(MESSAGES.wrongDestinationKey);
  return { ddk, credentialBox: { nonce: record.credential.nonce, ct: record.credential.ct } };
}

// ---------------------------------------------------------------------------------------------
// Envelopes

function publicKeyBytes(serverPublicKey) {
  let key;
  try {
    key = typeof serverPublicKey === "string" ? base64Decode(serverPublicKey) : toBytes(serverPublicKey, "the server's public key");
  } catch {
    key = null;
  }
  if (!key || key.length !== 32) throw new Error("the server's public key is not a 32-byte X25519 key; enroll the server again");
  return key;
}

function checkSecrets(serverSecrets) {
  if (typeof serverSecrets !== "object" || Array.isArray(serverSecrets)) throw new Error("server secrets are an object of strings");
  for (const [name, value] of Object.entries(serverSecrets)) {
    if (typeof value !== "string") throw new Error(`the server secret ${name} must be a string`);
  }
}

/**
 * Seals a destination's DDK (and optional per-server secrets) to one server's key. Returns the
 * hub's `ciphertext`: base64 of the envelope JSON. Refuses when keyID is not the fingerprint of
 * serverPublicKey (base64 string or 32 bytes).
 */
export async function sealEnvelope({ accountID, destinationID, serverID, keyID, serverPublicKey, ddk, credentialBox, serverSecrets }) {
  const publicKey = publicKeyBytes(serverPublicKey);
  const expected = await fingerprint(publicKey);
  if (keyID !== expected) throw new Error(`the key id ${keyID} is not the fingerprint of the server's public key (${expected})`);
  if (toBytes(ddk, "the destination data key").length !== 32) throw new Error("a destination data key has 32 bytes");
  if (!boxParts(credentialBox)) throw new Error("the credential box is not well formed");
  if (serverSecrets != null) checkSecrets(serverSecrets);

  const context = utf8(envelopeContext(accountID, destinationID, serverID, keyID));
  const sender = await setupBaseS(publicKey, context);
  // One HPKE context: sequence 0 carries the DDK, sequence 1 the server's secrets.
  const envelope = {
    v: VERSION,
    enc: base64Encode(sender.enc),
    ddk: base64Encode(await sender.seal(context, ddk)),
    credential: { nonce: credentialBox.nonce, ct: credentialBox.ct },
  };
  if (serverSecrets != null) envelope.server = base64Encode(await sender.seal(context, utf8(sortedJSON(serverSecrets))));
  return base64Encode(utf8(JSON.stringify(envelope)));
}

/** Parses JSON text that must be an object whose members are all strings; null otherwise. */
function stringObject(bytesValue) {
  let value;
  try {
    value = JSON.parse(decoder.decode(bytesValue));
  } catch {
    return null;
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  return Object.values(value).every((v) => typeof v === "string") ? value : null;
}

/**
 * Opens an envelope with the server's private key (what the agent does; used by tests to check
 * envelopes made by the Swift side). Every failure is the one "cannot be opened" error.
 */
export async function openEnvelope({ accountID, destinationID, serverID, keyID, serverPrivateKey, ciphertext }) {
  const cannotOpen = () => new Error(MESSAGES.cannotOpen);
  let envelope;
  try {
    envelope = JSON.parse(decoder.decode(base64Decode(ciphertext)));
  } catch {
    throw cannotOpen();
  }
  if (!envelope || typeof envelope !== "object" || envelope.v !== VERSION || typeof envelope.enc !== "string" || typeof envelope.ddk !== "string") {
    throw cannotOpen();
  }
  try {
    const context = utf8(envelopeContext(accountID, destinationID, serverID, keyID));
    const recipient = await setupBaseR(base64Decode(envelope.enc), serverPrivateKey, context);
    const ddk = await recipient.open(context, base64Decode(envelope.ddk));
    if (ddk.length !== 32) throw cannotOpen();
    let serverSecrets = null;
    if (envelope.server != null) {
      if (typeof envelope.server !== "string") throw cannotOpen();
      serverSecrets = stringObject(await recipient.open(context, base64Decode(envelope.server)));
      if (!serverSecrets) throw cannotOpen();
    }
    const plaintext = await openBox(envelope.credential, ddk, credentialAAD(accountID, destinationID));
    const credential = plaintext && stringObject(plaintext);
    if (!credential) throw cannotOpen();
    return { credential, serverSecrets, ddk };
  } catch {
    throw cannotOpen();
  }
}

// ---------------------------------------------------------------------------------------------
// Peer logins

/**
 * A source server's login to a peer destination: user = the server's id, password = 32 random
 * bytes as base64url without padding, and the htpasswd line `user:{SHA}base64(SHA-1(password))`
 * the hub keeps for the storage server. The password goes only into the source's envelope
 * (sealEnvelope's serverSecrets = {restUser, restPassword}).
 */
export async function generatePeerLogin(serverID) {
  if (typeof serverID !== "string" || serverID === "" || serverID.includes(":") || /[\r\n]/.test(serverID)) {
    throw new Error("a peer login needs the source server's id (no ':' or line breaks)");
  }
  const restPassword = base64UrlEncode(randomBytes(32));
  const sha1 = new Uint8Array(await subtle.digest("SHA-1", utf8(restPassword)));
  return { restUser: serverID, restPassword, htpasswd: `${serverID}:{SHA}${base64Encode(sha1)}` };
}
