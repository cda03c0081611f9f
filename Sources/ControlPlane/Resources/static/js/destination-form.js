// The destination form (`form[data-destination-form]`) and the attach form
// (`form[data-attach-form]`): they create a destination through the JSON API and seal its
// credential in the page (docs/sealing.md), so the hub only ever stores ciphertext.
//
// Markup contract (the templates produce it; docs/web.md):
// - Inputs named `settings.X` fill the request's `settings` object (checkbox → boolean, empty
//   text → left out). Only the fieldset `[data-kind=K]` of the chosen kind counts.
// - Secrets are inputs with `data-secret="NAME"` and no `name`, so a plain form post can never
//   carry them; they are cleared from the page once the destination is sealed.
// - Errors go to `[data-error-for="FIELD"]` (FIELD is the API's error field: `name`,
//   `settings.bucket`…, `secret.NAME` for a missing secret, `vault` for the passphrase), the
//   input gets aria-invalid="true"; anything else goes to `[data-form-error]`.
// - `[data-offsite]` holds the repository password, the vault passphrase (`[data-vault-passphrase]`,
//   with `[data-vault-new]` and `[data-vault-passphrase-confirm]` when the account has no vault
//   yet) and one `[data-attach]` checkbox per enrolled server (data-public-key, data-key-id).
// - `[data-recovery-dialog]` (with `[data-recovery-key]` and `[data-recovery-ack]`) shows the
//   recovery key once, when the first offsite destination creates the account's vault.

import { api } from "./api.js";
import {
  createDestinationKey,
  createVault,
  MIN_PASSPHRASE_LENGTH,
  openDestinationKey,
  unlockVaultWithPassphrase,
} from "./sealing.js";
import {
  clearErrors,
  destinationPath,
  isShown,
  labelOf,
  q,
  randomRepositoryPassword,
  scoped,
  sealToServer,
  selectedKind,
  setBusy,
  setIdle,
  showAPIError,
  showErrors,
  showFormError,
  wireSubmit,
} from "./form-kit.js";
import {
  signDestination,
  signExisting,
  submitSign,
  submitTrust,
  vaultSigningKey,
} from "./trust-forms.js";

export { selectedKind } from "./form-kit.js";

/** The secrets each kind needs in its credential (besides `repositoryPassword`). */
export const REQUIRED_SECRETS = Object.freeze({
  local: Object.freeze([]),
  s3: Object.freeze(["accessKeyID", "secretAccessKey"]),
  b2: Object.freeze(["accountID", "accountKey"]),
  rclone: Object.freeze(["rcloneConfig"]),
  peer: Object.freeze([]),
});

const SECRET_LABELS = {
  accessKeyID: "The access key ID",
  secretAccessKey: "The secret access key",
  accountID: "The application key ID",
  accountKey: "The application key",
  rcloneConfig: "The rclone configuration",
  repositoryPassword: "The repository password",
};

const wired = new WeakSet();

/** Wires every destination and attach form inside `root`. */
export function init(root = document) {
  for (const form of root.querySelectorAll("form[data-destination-form]")) {
    if (wired.has(form)) continue;
    wired.add(form);
    wireDestinationForm(form);
  }
  for (const form of root.querySelectorAll("form[data-attach-form]")) {
    if (wired.has(form)) continue;
    wired.add(form);
    wireSubmit(form, submitAttach);
  }
  for (const form of root.querySelectorAll("form[data-trust-form]")) {
    if (wired.has(form)) continue;
    wired.add(form);
    wireSubmit(form, submitTrust);
  }
  for (const form of root.querySelectorAll("form[data-sign-form]")) {
    if (wired.has(form)) continue;
    wired.add(form);
    wireSubmit(form, submitSign);
  }
}

// ---------------------------------------------------------------------------------------------
// The recovery key, shown once

function recoveryDialog() {
  let dialog = document.querySelector("[data-recovery-dialog]");
  if (dialog) return dialog;
  // The template did not include one: make the same markup.
  dialog = document.createElement("dialog");
  dialog.dataset.recoveryDialog = "";
  dialog.setAttribute("aria-labelledby", "recovery-dialog-title");
  const title = document.createElement("h2");
  title.id = "recovery-dialog-title";
  title.textContent = "Your vault's recovery key";
  const text = document.createElement("p");
  text.textContent = "Store this key somewhere safe, apart from the passphrase. It unlocks your vault if the passphrase is lost; it is shown only now.";
  const key = document.createElement("pre");
  key.dataset.recoveryKey = "";
  const actions = document.createElement("div");
  actions.className = "dialog-actions";
  const ack = document.createElement("button");
  ack.type = "button";
  ack.className = "button primary";
  ack.dataset.recoveryAck = "";
  ack.textContent = "I have stored it";
  actions.append(ack);
  dialog.append(title, text, key, actions);
  document.body.append(dialog);
  return dialog;
}

/** Shows the recovery key in its dialog; resolves when the person says it is stored. */
function showRecoveryKey(recoveryKey) {
  const dialog = recoveryDialog();
  const keyBox = dialog.querySelector("[data-recovery-key]");
  const ack = dialog.querySelector("[data-recovery-ack]");
  if (!keyBox || !ack || typeof dialog.showModal !== "function") {
    window.alert(`Your vault's recovery key (shown only now; store it safely):\n\n${recoveryKey}`);
    return Promise.resolve();
  }
  keyBox.textContent = recoveryKey;
  return new Promise((resolve) => {
    let acknowledged = false;
    const onCancel = (event) => event.preventDefault(); // Escape does not dismiss a key shown once
    const onClose = () => {
      if (!acknowledged) dialog.showModal(); // closed some other way: it stays until acknowledged
    };
    const onAck = () => {
      acknowledged = true;
      ack.removeEventListener("click", onAck);
      dialog.removeEventListener("cancel", onCancel);
      dialog.removeEventListener("close", onClose);
      dialog.close();
      keyBox.textContent = "";
      resolve();
    };
    ack.addEventListener("click", onAck);
    dialog.addEventListener("cancel", onCancel);
    dialog.addEventListener("close", onClose);
    dialog.showModal();
  });
}

// ---------------------------------------------------------------------------------------------
// The destination form

function wireDestinationForm(form) {
  const state = { vault: undefined, vaultKnown: false, vaultError: null, vaultLoad: null, busy: false };

  const markVaultNew = (isNew) => {
    for (const box of form.querySelectorAll("[data-vault-new]")) box.hidden = !isNew;
    for (const box of form.querySelectorAll("[data-vault-existing]")) box.hidden = isNew;
    for (const input of form.querySelectorAll("[data-vault-passphrase]")) input.autocomplete = isNew ? "new-password" : "current-password";
  };

  const loadVault = () => {
    // The page says when the account has no vault yet; later loads ask the hub (one may be made meanwhile).
    if (form.dataset.vault === "none") {
      delete form.dataset.vault;
      state.vault = null;
      state.vaultKnown = true;
      markVaultNew(true);
      state.vaultLoad = Promise.resolve();
      return state.vaultLoad;
    }
    state.vaultLoad = api("GET", "/api/v1/vault").then(
      (vault) => {
        state.vault = vault;
        state.vaultKnown = true;
        markVaultNew(false);
      },
      (error) => {
        if (error.status === 404) {
          state.vault = null;
          state.vaultKnown = true;
          markVaultNew(true);
        } else {
          state.vaultKnown = false;
          state.vaultError = error;
        }
      },
    );
    return state.vaultLoad;
  };

  const applyKind = () => {
    const kind = selectedKind(form);
    for (const section of form.querySelectorAll("[data-kind]")) section.hidden = section.getAttribute("data-kind") !== kind;
    for (const section of form.querySelectorAll("[data-offsite]")) section.hidden = kind === "local";
    // Peer: the storage server cannot back up into itself, so it cannot be attached.
    const storage = kind === "peer" ? scoped(form, kind, '[name="settings.peerServerID"]')[0]?.value || "" : "";
    for (const box of form.querySelectorAll("[data-attach]")) {
      if (box.value === storage && storage) {
        if (!box.disabled) box.dataset.disabledAsStorage = "yes";
        box.disabled = true;
        box.checked = false;
      } else if (box.dataset.disabledAsStorage === "yes") {
        box.disabled = false;
        delete box.dataset.disabledAsStorage;
      }
    }
    // Focus never stays on something that was just hidden.
    const active = document.activeElement;
    if (active && form.contains(active) && !isShown(active, form)) {
      const radio = form.querySelector('input[name="kind"]:checked');
      if (radio) radio.focus();
    }
  };

  form.addEventListener("change", (event) => {
    const target = event.target;
    if (target && (target.name === "kind" || target.name === "settings.peerServerID")) applyKind();
  });
  window.addEventListener("pageshow", applyKind); // a restored page may come back with another kind checked
  applyKind();
  loadVault();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (state.busy) return;
    state.busy = true;
    try {
      await submitDestination(form, state, { loadVault, markVaultNew });
    } catch (error) {
      // Anything unexpected (a bug, WebCrypto missing): say it, never leave the form stuck.
      showFormError(form, error && error.message ? error.message : String(error));
      setIdle(form);
    } finally {
      state.busy = false;
    }
  });
}

/** Checks what can be checked in the page; returns [field, message] pairs. */
function validateDestination(form, kind, { offsite, newVault }) {
  const errors = [];
  const seen = new Set();
  const add = (field, message) => {
    if (seen.has(field)) return;
    seen.add(field);
    errors.push([field, message]);
  };

  for (const input of scoped(form, kind, "[required]")) {
    if (input.disabled || !isShown(input, form) || input.type === "radio" || input.type === "checkbox") continue;
    if (input.value.trim() !== "") continue;
    const field = input.name || (input.dataset.secret ? `secret.${input.dataset.secret}` : null);
    if (field) add(field, `${labelOf(input, "This field")} is required`);
  }
  if (!offsite) return errors;

  for (const secret of REQUIRED_SECRETS[kind] || []) {
    const input = scoped(form, kind, `[data-secret="${q(secret)}"]`)[0];
    if (!input || input.value.trim() === "") add(`secret.${secret}`, `${labelOf(input, SECRET_LABELS[secret] || secret)} is required`);
  }

  const passphrase = scoped(form, kind, "[data-vault-passphrase]")[0];
  const value = passphrase ? passphrase.value : "";
  if (!value) {
    add("vault", newVault
      ? `Choose a vault passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters; it unlocks the keys that seal your credentials`
      : "Enter your vault passphrase; it unlocks the keys that seal your credentials");
  } else if (newVault) {
    if ([...value].length < MIN_PASSPHRASE_LENGTH) {
      add("vault", `The vault passphrase is too short: use at least ${MIN_PASSPHRASE_LENGTH} characters`);
    } else {
      const confirm = scoped(form, kind, "[data-vault-passphrase-confirm]")[0];
      if (confirm && confirm.value !== value) add("vault.confirm", "The two passphrases differ; type the same passphrase twice");
    }
  }
  return errors;
}

function collectSettings(form, kind) {
  const settings = {};
  for (const input of scoped(form, kind, '[name^="settings."]')) {
    if (input.disabled) continue;
    const key = input.name.slice("settings.".length);
    if (!key) continue;
    if (input.type === "checkbox") settings[key] = input.checked;
    else if (input.type === "radio") {
      if (input.checked) settings[key] = input.value;
    } else {
      const value = input.value.trim();
      if (value !== "") settings[key] = value;
    }
  }
  return settings;
}

/** The credential: repositoryPassword (typed, or 32 random bytes) and the kind's secrets. */
function collectCredential(form, kind) {
  const credential = {};
  for (const input of scoped(form, kind, "[data-secret]")) {
    const name = input.dataset.secret;
    if (!name || name === "repositoryPassword" || input.disabled) continue;
    // Single-line keys are trimmed (pasted keys often carry a space); a configuration text is kept as typed.
    const value = input instanceof HTMLTextAreaElement ? input.value : input.value.trim();
    if (value.trim() !== "") credential[name] = value;
  }
  const typed = scoped(form, kind, '[data-secret="repositoryPassword"]')[0];
  credential.repositoryPassword = typed && typed.value !== "" ? typed.value : randomRepositoryPassword();
  return credential;
}

function clearSecrets(form) {
  for (const input of form.querySelectorAll("[data-secret], [data-vault-passphrase], [data-vault-passphrase-confirm]")) input.value = "";
}

async function submitDestination(form, state, { loadVault, markVaultNew }) {
  clearErrors(form);
  const accountID = form.dataset.accountId || "";
  const kind = selectedKind(form);
  const offsite = kind !== "local";
  const nameInput = form.querySelector('[name="name"]');
  const body = { name: nameInput ? nameInput.value.trim() : "", kind, settings: collectSettings(form, kind) };

  if (offsite) {
    if (state.vaultLoad) await state.vaultLoad;
    if (!state.vaultKnown) await loadVault();
    if (!state.vaultKnown) {
      showFormError(form, `The account's vault could not be read: ${state.vaultError ? state.vaultError.message : "unknown error"}. Nothing was saved.`);
      return;
    }
  }
  const errors = validateDestination(form, kind, { offsite, newVault: offsite && state.vault === null });
  if (errors.length) {
    showErrors(form, kind, errors);
    return;
  }

  // Local: the agent makes and keeps the repository password; nothing to seal.
  if (!offsite) {
    setBusy(form, "Saving…");
    let destination;
    try {
      destination = await api("POST", "/api/v1/destinations", body);
    } catch (error) {
      setIdle(form);
      showAPIError(form, kind, error);
      return;
    }
    location.assign(`/backups/destinations/${encodeURIComponent(destination.id)}`);
    return;
  }

  if (!accountID) {
    showFormError(form, "This page does not name your account (data-account-id); reload it.");
    return;
  }
  setBusy(form, "Sealing…");
  const passphrase = scoped(form, kind, "[data-vault-passphrase]")[0].value;

  // 1. The vault key: unlock the vault, or create the vault (first offsite destination).
  let vaultKey;
  let signingKey;
  if (state.vault) {
    try {
      vaultKey = await unlockVaultWithPassphrase(accountID, state.vault, passphrase);
      ({ vault: state.vault, signingKey } = await vaultSigningKey(accountID, state.vault, vaultKey));
    } catch (error) {
      setIdle(form);
      showErrors(form, kind, [["vault", error.message]]);
      return;
    }
  } else {
    let created;
    try {
      created = await createVault(accountID, passphrase);
    } catch (error) {
      setIdle(form);
      showErrors(form, kind, [["vault", error.message]]);
      return;
    }
    try {
      await api("PUT", "/api/v1/vault", { vault: created.vault });
    } catch (error) {
      setIdle(form);
      if (error.status === 409) {
        // Another window (or the CLI) made the vault meanwhile: use that one.
        await loadVault();
        showErrors(form, kind, [["vault", "This account's vault was created meanwhile (in another window or with the CLI); enter its passphrase"]]);
      } else {
        showAPIError(form, kind, error, "The vault could not be saved: ");
      }
      return;
    }
    state.vault = created.vault;
    markVaultNew(false);
    for (const input of form.querySelectorAll("[data-vault-passphrase-confirm]")) input.value = "";
    await showRecoveryKey(created.recoveryKey);
    vaultKey = created.vaultKey;
    signingKey = created.signingKey;
    // Trust mode is on from now: sign what the account already has, so its servers keep running it.
    try {
      await signExisting(signingKey);
    } catch (error) {
      console.warn("mzpanel: the account's existing jobs and destinations could not all be signed", error);
    }
  }

  // 2. The destination itself: name, kind, settings, never a secret.
  let destination;
  try {
    destination = await api("POST", "/api/v1/destinations", body);
  } catch (error) {
    setIdle(form);
    showAPIError(form, kind, error);
    return;
  }
  const id = destination.id;

  // 3. Its key record: the credential boxed under a fresh data key, wrapped under the vault key.
  let record;
  let ddk;
  try {
    ({ record, ddk } = await createDestinationKey(accountID, id, vaultKey, collectCredential(form, kind)));
    await api("PATCH", destinationPath(id), { credentialKey: record });
  } catch (error) {
    // A destination without its credential is of no use: take it back.
    try {
      await api("DELETE", destinationPath(id));
    } catch {
      // it stays; the destinations page lists it and it can be deleted there
    }
    setIdle(form);
    showAPIError(form, kind, error, "The destination was not saved: ");
    return;
  }

  // 4. Its manifest: the settings signed with the account key, so servers that pinned it accept
  // them. Should this fail, the destination's page says it is not signed and offers to sign it.
  try {
    await signDestination(await api("GET", destinationPath(id)), signingKey);
  } catch (error) {
    console.warn("mzpanel: the new destination could not be signed", error);
  }

  // 5. One envelope per chosen server.
  const failures = [];
  for (const box of scoped(form, kind, "[data-attach]")) {
    if (!box.checked || box.disabled) continue;
    try {
      await sealToServer({
        accountID,
        destinationID: id,
        kind,
        serverID: box.value,
        signingKey,
        ddk,
        credentialBox: record.credential,
      });
    } catch (error) {
      failures.push(`${labelOf(box, box.value)} (${error.message})`);
    }
  }
  ddk.fill(0);
  clearSecrets(form);

  const page = `/backups/destinations/${encodeURIComponent(id)}`;
  if (failures.length) {
    // The destination and its sealed credential are saved; only these servers are missing.
    // The button stays off: submitting again would make a second destination.
    const link = document.createElement("a");
    link.href = page;
    link.textContent = "Open the destination";
    showFormError(form, `${body.name} is saved, but it could not be sealed to ${failures.join("; ")}. Seal it to those servers from the destination's page. `, link);
    setIdle(form, { label: "Saved", enabled: false });
    return;
  }
  location.assign(page);
}

// ---------------------------------------------------------------------------------------------
// The attach form: seal an existing destination to one more server
async function submitAttach(form) {
  clearErrors(form);
  const kind = form.dataset.destinationKind || "";
  const accountID = form.dataset.accountId || "";
  const destinationID = form.dataset.destinationId || "";
  const select = form.querySelector('[name="server"]');
  const option = select && select.selectedOptions ? select.selectedOptions[0] : null;
  const passphraseInput = form.querySelector("[data-vault-passphrase]");
  const passphrase = passphraseInput ? passphraseInput.value : "";

  const errors = [];
  if (!option || !option.value) errors.push(["server", "Choose the server to seal this destination to"]);
  else if (!option.dataset.publicKey || !option.dataset.keyId) errors.push(["server", "This server has no key yet; enroll it first"]);
  if (!passphrase) errors.push(["vault", "Enter your vault passphrase"]);
  if (errors.length) {
    showErrors(form, kind, errors);
    return;
  }
  if (!accountID || !destinationID) {
    showFormError(form, "This page does not name the account or destination; reload it.");
    return;
  }
  const serverID = option.value;
  setBusy(form, "Sealing…");

  try {
    let vault;
    try {
      vault = await api("GET", "/api/v1/vault");
    } catch (error) {
      if (error.status === 404) throw new Error("This account has no vault yet: it is made with the first offsite destination");
      throw error;
    }
    let vaultKey;
    let signingKey;
    try {
      vaultKey = await unlockVaultWithPassphrase(accountID, vault, passphrase);
      ({ signingKey } = await vaultSigningKey(accountID, vault, vaultKey));
    } catch (error) {
      setIdle(form);
      showErrors(form, kind, [["vault", error.message]]);
      return;
    }
    const destination = await api("GET", destinationPath(destinationID));
    const destinationKind = destination.kind || kind;
    if (!destination.credentialKey) {
      throw new Error("This destination has no sealed credential yet; delete it and add it again with its credential");
    }
    if (destinationKind === "peer" && destination.settings && destination.settings.peerServerID === serverID) {
      setIdle(form);
      showErrors(form, kind, [["server", "This server stores the destination's backups; it cannot back up into itself"]]);
      return;
    }
    const { ddk, credentialBox } = await openDestinationKey(accountID, destinationID, vaultKey, destination.credentialKey);
    const recoverSelect = form.querySelector("[data-recover-from]");
    await sealToServer({
      accountID,
      destinationID,
      kind: destinationKind,
      serverID,
      signingKey,
      ddk,
      credentialBox,
      recoverFrom: recoverSelect && recoverSelect.value ? recoverSelect.value : undefined,
    });
    ddk.fill(0);
  } catch (error) {
    setIdle(form);
    showAPIError(form, kind, error);
    return;
  }
  if (passphraseInput) passphraseInput.value = "";
  location.reload();
}
