// Helpers the sealing forms share (destination-form.js, trust-forms.js): field errors, the busy
// state, one submission at a time, and sealing a credential to one server (docs/sealing.md).

import { api } from "./api.js";
import {
  base64Decode,
  base64UrlEncode,
  fingerprint,
  generatePeerLogin,
  sealEnvelope,
  verifyServerCertificate,
} from "./sealing.js";

let idCounter = 0;


export const q = (value) => (typeof CSS !== "undefined" && CSS.escape ? CSS.escape(value) : String(value).replace(/["\\]/g, "\\$&"));

/** The kind chosen in the form (the checked `kind` radio, or a `kind` select). */
export function selectedKind(form) {
  const checked = form.querySelector('input[name="kind"]:checked');
  if (checked) return checked.value;
  const control = form.querySelector('select[name="kind"], input[name="kind"]:not([type="radio"])');
  return control && control.value ? control.value : "local";
}

/** True when `element` sits in the fieldset of another kind than `kind`. */
export function inOtherKind(element, form, kind) {
  const section = element.closest("[data-kind]");
  return !!section && form.contains(section) && section.getAttribute("data-kind") !== kind;
}

/** The elements matching `selector` in `form`, except those in other kinds' fieldsets. */
export function scoped(form, kind, selector) {
  return [...form.querySelectorAll(selector)].filter((element) => !inOtherKind(element, form, kind));
}

export function isShown(element, form) {
  for (let node = element; node && node !== form; node = node.parentElement) {
    if (node.hidden) return false;
  }
  return true;
}

export function uniqueId(prefix) {
  idCounter += 1;
  return `${prefix}-${Date.now().toString(36)}-${idCounter}`;
}

export function labelOf(input, fallback) {
  const label = input && input.labels && input.labels[0];
  if (label) {
    // The label's own text, without nested controls or hints.
    const text = [...label.childNodes]
      .filter((node) => node.nodeType === Node.TEXT_NODE || (node.nodeType === Node.ELEMENT_NODE && !node.matches("input, select, textarea, .hint, .optional, small")))
      .map((node) => node.textContent)
      .join(" ")
      .replace(/\s+/g, " ")
      .replace(/[*:]\s*$/, "")
      .trim();
    if (text) return text;
  }
  return fallback;
}

export function formErrorBox(form) {
  let box = form.querySelector("[data-form-error]");
  if (!box) {
    box = document.createElement("div");
    box.className = "notice error";
    box.setAttribute("role", "alert");
    box.dataset.formError = "";
    form.prepend(box);
  }
  return box;
}

export function showFormError(form, message, ...extra) {
  const box = formErrorBox(form);
  box.replaceChildren(document.createTextNode(message), ...extra);
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

export function clearErrors(form) {
  for (const paragraph of form.querySelectorAll("[data-error-for]")) {
    paragraph.textContent = "";
    paragraph.hidden = true;
  }
  for (const input of form.querySelectorAll('[aria-invalid="true"]')) input.removeAttribute("aria-invalid");
  for (const input of form.querySelectorAll("[data-added-describedby]")) {
    const added = input.getAttribute("data-added-describedby");
    const rest = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter((id) => id && id !== added);
    if (rest.length) input.setAttribute("aria-describedby", rest.join(" "));
    else input.removeAttribute("aria-describedby");
    input.removeAttribute("data-added-describedby");
  }
  const box = form.querySelector("[data-form-error]");
  if (box) {
    box.replaceChildren();
    box.hidden = true;
  }
}

/** The inputs an error field names. */
export function inputsFor(form, kind, field) {
  if (field === "vault") return scoped(form, kind, "[data-vault-passphrase]");
  if (field === "vault.confirm") return scoped(form, kind, "[data-vault-passphrase-confirm]");
  if (field.startsWith("secret.")) return scoped(form, kind, `[data-secret="${q(field.slice("secret.".length))}"]`);
  return scoped(form, kind, `[name="${q(field)}"]`);
}

/**
 * Shows `message` next to `field` (its `[data-error-for]` paragraph, else the nearest parent
 * field's, else the form's notice) and marks the field's inputs invalid. Returns the element to
 * focus.
 */
export function showFieldError(form, kind, field, message) {
  const inputs = inputsFor(form, kind, field);
  let paragraph = null;
  for (let name = field; name && !paragraph; name = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : "") {
    paragraph = scoped(form, kind, `[data-error-for="${q(name)}"]`)[0] || null;
  }
  for (const input of inputs) input.setAttribute("aria-invalid", "true");
  if (!paragraph) {
    showFormError(form, message);
    return inputs[0] || null;
  }
  paragraph.textContent = message;
  paragraph.hidden = false;
  if (!paragraph.id) paragraph.id = uniqueId("error");
  for (const input of inputs) {
    const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (!ids.includes(paragraph.id)) {
      ids.push(paragraph.id);
      input.setAttribute("aria-describedby", ids.join(" "));
      input.setAttribute("data-added-describedby", paragraph.id);
    }
  }
  return inputs[0] || paragraph;
}

/** Shows a list of [field, message] errors; focuses the first one. */
export function showErrors(form, kind, errors) {
  let first = null;
  for (const [field, message] of errors) {
    const target = field ? showFieldError(form, kind, field, message) : (showFormError(form, message), null);
    if (!first && target) first = target;
  }
  if (first && typeof first.focus === "function") {
    if (!first.hasAttribute("tabindex") && !first.matches("input, select, textarea, button")) first.setAttribute("tabindex", "-1");
    first.focus();
  }
}

/** An API error next to its field (the hub names it: `settings.bucket`, `name`…), or in the notice. */
export function showAPIError(form, kind, error, prefix = "") {
  const message = prefix + (error && error.message ? error.message : String(error));
  showErrors(form, kind, [[error && error.field ? error.field : null, message]]);
}

export function submitButton(form) {
  return form.querySelector('button[type="submit"], button:not([type]), input[type="submit"]');
}

export function setBusy(form, label) {
  form.setAttribute("aria-busy", "true");
  const button = submitButton(form);
  if (!button) return;
  if (button.dataset.idleLabel === undefined) button.dataset.idleLabel = button instanceof HTMLInputElement ? button.value : button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (button instanceof HTMLInputElement) button.value = label;
  else button.textContent = label;
}

export function setIdle(form, { label, enabled = true } = {}) {
  form.removeAttribute("aria-busy");
  const button = submitButton(form);
  if (!button) return;
  const text = label ?? button.dataset.idleLabel ?? button.textContent;
  if (button instanceof HTMLInputElement) button.value = text;
  else button.textContent = text;
  button.removeAttribute("aria-busy");
  button.disabled = !enabled;
}

export function randomRepositoryPassword() {
  return base64UrlEncode(crypto.getRandomValues(new Uint8Array(32)));
}

export function destinationPath(id) {
  return `/api/v1/destinations/${encodeURIComponent(id)}`;
}

/**
 * Seals the destination's DDK to one server and stores the envelope. For a peer destination,
 * `recoverFrom` (a lost server's id) adds a fresh login as that server, so this server can read
 * its repository; the hub gets only the login's htpasswd line.
 */
export async function sealToServer({ accountID, destinationID, kind, serverID, signingKey, ddk, credentialBox, recoverFrom }) {
  // The key as the hub holds it now, sealed to only when the account certified it.
  const server = await api("GET", `/api/v1/servers/${encodeURIComponent(serverID)}`);
  const { publicKey, keyFingerprint: keyID } = server;
  if (!keyID || !publicKey) throw new Error("this server has no key yet; enroll it first");
  if (!(await verifyServerCertificate(server.certificate, accountID, server.id, publicKey, signingKey.publicKey))) {
    throw new Error(
      `${server.name}'s key is not certified by your account key, so nothing was sealed to it. On ${server.name}, run ` +
        `"mzpanel-agent fingerprint": if it prints ${await fingerprint(base64Decode(publicKey))}, trust the server on its page; ` +
        `if not, the key the hub holds is not that server's`,
    );
  }
  const login = kind === "peer" ? await generatePeerLogin(serverID) : null;
  const recovery = kind === "peer" && recoverFrom ? await generatePeerLogin(recoverFrom) : null;
  const secrets = login ? { restUser: login.restUser, restPassword: login.restPassword } : undefined;
  if (secrets && recovery) {
    secrets.recoverUser = recovery.restUser;
    secrets.recoverPassword = recovery.restPassword;
  }
  const ciphertext = await sealEnvelope({
    accountID,
    destinationID,
    serverID,
    keyID,
    serverPublicKey: publicKey,
    ddk,
    credentialBox,
    serverSecrets: secrets,
  });
  await api("PUT", `${destinationPath(destinationID)}/envelopes/${encodeURIComponent(serverID)}`, {
    keyID,
    version: 1,
    ciphertext,
    peerLogin: login ? login.htpasswd : undefined,
    recoveryLogin: recovery ? recovery.htpasswd : undefined,
  });
}


/**
 * Runs `submit(form)` on submit, one at a time; whatever it throws is shown in the form's
 * notice and the form becomes usable again.
 */
export function wireSubmit(form, submit) {
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    try {
      await submit(form);
    } catch (error) {
      showFormError(form, error && error.message ? error.message : String(error));
      setIdle(form);
    } finally {
      busy = false;
    }
  });
}
