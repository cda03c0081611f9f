// The trust form (`form[data-trust-form]`: certify a server's key) and the sign form
// (`form[data-sign-form]`: sign a job, destination or restore run as the hub holds it), both
// with the account signing key opened from the vault in the page (docs/sealing.md).

import { api } from "./api.js";
import {
  addSigningKey,
  base64Decode,
  certifyServer,
  destinationManifest,
  fingerprint,
  jobManifest,
  nextManifestVersion,
  openSigningKey,
  restoreManifest,
  signManifest,
  unlockVaultWithPassphrase,
} from "./sealing.js";
import {
  clearErrors,
  destinationPath,
  setBusy,
  setIdle,
  showErrors,
  showFormError,
} from "./form-kit.js";


/**
 * The signing key inside an unlocked vault; a vault made before signing existed gets one now
 * (stored with PUT /api/v1/vault). Returns the (possibly new) vault document and the key.
 */
export async function vaultSigningKey(accountID, vault, vaultKey) {
  const signingKey = await openSigningKey(accountID, vault, vaultKey);
  if (signingKey) return { vault, signingKey };
  const added = await addSigningKey(accountID, vault, vaultKey);
  await api("PUT", "/api/v1/vault", { vault: added.vault, replace: true });
  return added;
}

/**
 * The account signing key for a form that typed the vault passphrase; null (the error shown at
 * the passphrase, the form usable again) when the vault does not open with it.
 */
export async function formSigningKey(form, accountID, passphrase) {
  let vault;
  try {
    vault = await api("GET", "/api/v1/vault");
  } catch (error) {
    if (error.status === 404) throw new Error("This account has no vault yet: it is made with the first offsite destination");
    throw error;
  }
  try {
    return (await vaultSigningKey(accountID, vault, await unlockVaultWithPassphrase(accountID, vault, passphrase))).signingKey;
  } catch (error) {
    setIdle(form);
    showErrors(form, "", [["vault", error.message]]);
    return null;
  }
}

/** Fingerprints compare without case, spaces or separators, as people copy them. */
export function normalizedFingerprint(text) {
  return String(text).toLowerCase().replace(/[^0-9a-f]/g, "");
}

export async function submitTrust(form) {
  clearErrors(form);
  const accountID = form.dataset.accountId || "";
  const serverID = form.dataset.serverId || "";
  const typed = form.querySelector("[data-fingerprint]").value.trim();
  const passphraseInput = form.querySelector("[data-vault-passphrase]");
  const passphrase = passphraseInput ? passphraseInput.value : "";
  const errors = [];
  if (!normalizedFingerprint(typed)) errors.push(["fingerprint", "Type the fingerprint the server prints (mzpanel-agent fingerprint)"]);
  if (!passphrase) errors.push(["vault", "Enter your vault passphrase"]);
  if (errors.length) {
    showErrors(form, "", errors);
    return;
  }
  setBusy(form, "Certifying…");
  const server = await api("GET", `/api/v1/servers/${encodeURIComponent(serverID)}`);
  if (!server.publicKey) throw new Error(`${server.name} has not enrolled yet, so it has no key to certify`);
  const actual = await fingerprint(base64Decode(server.publicKey));
  if (normalizedFingerprint(typed) !== normalizedFingerprint(actual)) {
    setIdle(form);
    showErrors(form, "", [
      ["fingerprint", `The key the hub holds for ${server.name} has fingerprint ${actual}, not the one you typed: nothing was certified`],
    ]);
    return;
  }
  const signingKey = await formSigningKey(form, accountID, passphrase);
  if (!signingKey) return;
  const certificate = await certifyServer(accountID, server.id, server.publicKey, signingKey);
  await api("PUT", `/api/v1/servers/${encodeURIComponent(server.id)}/certificate`, { certificate, keyFingerprint: actual });
  if (passphraseInput) passphraseInput.value = "";
  location.reload();
}

// ---------------------------------------------------------------------------------------------
// The sign form: sign a job or destination as the hub holds it now (docs/sealing.md)

export async function signDestination(destination, signingKey) {
  const manifest = await signManifest(destinationManifest(destination, nextManifestVersion(destination.manifest)), signingKey);
  await api("PUT", `${destinationPath(destination.id)}/manifest`, { manifest });
}

/** Signs every destination and job the account has that is not signed yet (right after the vault is made). */
export async function signExisting(signingKey) {
  for (const destination of (await api("GET", "/api/v1/destinations")).destinations || []) {
    if (!destination.manifest) await signDestination(destination, signingKey);
  }
  let cursor = "";
  do {
    const page = await api("GET", `/api/v1/jobs?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    for (const job of page.jobs || []) {
      if (job.manifestState === "signed") continue;
      const manifest = await signManifest(jobManifest(job, nextManifestVersion(job.manifest)), signingKey);
      await api("PUT", `/api/v1/jobs/${encodeURIComponent(job.id)}/manifest`, { manifest });
    }
    cursor = page.nextCursor || "";
  } while (cursor);
}

export async function submitSign(form) {
  clearErrors(form);
  const accountID = form.dataset.accountId || "";
  const kind = form.dataset.signKind || "";
  const id = form.dataset.id || "";
  const passphraseInput = form.querySelector("[data-vault-passphrase]");
  const passphrase = passphraseInput ? passphraseInput.value : "";
  if (!passphrase) {
    showErrors(form, "", [["vault", "Enter your vault passphrase"]]);
    return;
  }
  if (!accountID || !id || !["job", "destination", "restore"].includes(kind)) {
    showFormError(form, "This page does not name what to sign; reload it.");
    return;
  }
  setBusy(form, "Signing…");
  const signingKey = await formSigningKey(form, accountID, passphrase);
  if (!signingKey) return;
  if (kind === "restore") {
    const run = await api("GET", `/api/v1/runs/${encodeURIComponent(id)}`);
    const manifest = await signManifest(restoreManifest(run, nextManifestVersion(null)), signingKey);
    await api("PUT", `/api/v1/runs/${encodeURIComponent(id)}/manifest`, { manifest });
  } else if (kind === "job") {
    const job = await api("GET", `/api/v1/jobs/${encodeURIComponent(id)}`);
    const manifest = await signManifest(jobManifest(job, nextManifestVersion(job.manifest)), signingKey);
    await api("PUT", `/api/v1/jobs/${encodeURIComponent(id)}/manifest`, { manifest });
  } else {
    await signDestination(await api("GET", destinationPath(id)), signingKey);
  }
  if (passphraseInput) passphraseInput.value = "";
  location.reload();
}
