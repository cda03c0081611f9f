// Loaded on every page of the hub (<script type="module" src="/backups/static/js/app.js">).
// Wires the behaviours of docs/web.md by data attributes; the pages work without it (forms post,
// links navigate), it only adds copying, confirmations, the schedule preview, live run progress,
// local times, and the destination forms that seal credentials in the page.
//
// No inline code or styles: everything here runs under the pages' Content-Security-Policy.

import { api } from "./api.js";

const wired = new WeakSet(); // elements already wired (init may run again on a subtree)
let documentListeners = false; // the delegated click and submit listeners

function once(element) {
  if (wired.has(element)) return false;
  wired.add(element);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Formatting (English UI: numbers in en-US grouping, as the server renders them)

const numberFormat = new Intl.NumberFormat("en-US");
const oneDecimal = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** 1234 → "1,234". */
export function formatCount(value) {
  return Number.isFinite(value) ? numberFormat.format(value) : "—";
}

/** Bytes in binary units: "512 B", "1.2 KiB", "3.4 GiB". */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  // 1023.96 KiB would print as "1024.0 KiB": move up a unit instead.
  if (Math.round(value * 10) / 10 >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${oneDecimal.format(value)} ${units[unit]}`;
}

/** Seconds as "45 s", "2 min 5 s", "1 h 3 min", "2 d 4 h"; "—" when unknown. */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  let s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  s -= minutes * 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  return s > 0 ? `${minutes} min ${s} s` : `${minutes} min`;
}

/** A date in the browser's locale and time zone (or in `timeZone`), e.g. "Tue, Mar 4, 2025, 02:30". */
export function formatDate(date, { timeZone, weekday = false, timeZoneName = false } = {}) {
  const options = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
  if (weekday) options.weekday = "short";
  if (timeZoneName) options.timeZoneName = "short";
  if (timeZone) {
    try {
      return new Intl.DateTimeFormat(undefined, { ...options, timeZone }).format(date);
    } catch {
      // A zone this browser does not know: fall back to its own zone, and say so.
      return `${new Intl.DateTimeFormat(undefined, { ...options, timeZoneName: "short" }).format(date)}`;
    }
  }
  return new Intl.DateTimeFormat(undefined, options).format(date);
}

// ---------------------------------------------------------------------------------------------
// Announcements for screen readers

let liveRegion = null;

/** Says `message` through the page's polite aria-live region (`[data-announcer]`; made when missing). */
export function announce(message) {
  if (!liveRegion || !liveRegion.isConnected) liveRegion = document.querySelector("[data-announcer]");
  if (!liveRegion) {
    liveRegion = document.createElement("div");
    liveRegion.className = "visually-hidden";
    liveRegion.setAttribute("role", "status");
    liveRegion.setAttribute("aria-live", "polite");
    liveRegion.setAttribute("aria-atomic", "true");
    liveRegion.dataset.announcer = "";
    document.body.append(liveRegion);
  }
  // Clear first so the same message twice is announced twice.
  liveRegion.textContent = "";
  setTimeout(() => {
    liveRegion.textContent = message;
  }, 50);
}

// ---------------------------------------------------------------------------------------------
// [data-copy="#id"]: copy the text of #id

function copyTarget(button) {
  const selector = button.getAttribute("data-copy");
  if (selector) {
    try {
      const target = document.querySelector(selector);
      if (target) return target;
    } catch {
      // not a selector: fall through
    }
  }
  // No target named: the code block the button sits in.
  return button.closest(".code-block")?.querySelector("pre, code, textarea, input") || null;
}

function textOf(element) {
  if ("value" in element && (element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement)) return element.value;
  return element.textContent.replace(/^\n+|\s+$/g, "");
}

function copyWithSelection(text) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "visually-hidden";
  document.body.append(area);
  const previous = document.activeElement;
  area.select();
  area.setSelectionRange(0, text.length);
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  if (previous && typeof previous.focus === "function") previous.focus({ preventScroll: true });
  return ok;
}

/** Copies `text` to the clipboard; resolves to true when it worked. */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // permission refused or no focus: try the old way
    }
  }
  return copyWithSelection(text);
}

async function onCopyClick(button) {
  const target = copyTarget(button);
  if (!target) return;
  const ok = await copyText(textOf(target));
  if (!ok) {
    // Leave the text selected so the person can copy it by hand.
    const range = document.createRange();
    range.selectNodeContents(target);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    announce("Copying is not allowed here; the text is selected, press Ctrl+C or ⌘C");
    return;
  }
  announce("Copied");
  if (!button.dataset.copyLabel) button.dataset.copyLabel = button.textContent;
  button.textContent = "Copied";
  button.classList.add("copied");
  clearTimeout(button._copyTimer);
  button._copyTimer = setTimeout(() => {
    button.textContent = button.dataset.copyLabel;
    button.classList.remove("copied");
  }, 2000);
}

function wireCopy() {
  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    event.preventDefault();
    onCopyClick(button);
  });
}

// ---------------------------------------------------------------------------------------------
// form[data-confirm="Question?"]: ask in a <dialog> before submitting

let confirmDialog = null;

function buildConfirmDialog() {
  const dialog = document.createElement("dialog");
  dialog.className = "confirm-dialog";
  dialog.dataset.confirmDialog = "";
  dialog.setAttribute("aria-labelledby", "confirm-dialog-question");
  const question = document.createElement("p");
  question.id = "confirm-dialog-question";
  const actions = document.createElement("div");
  actions.className = "dialog-actions";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "button";
  cancel.textContent = "Cancel";
  cancel.dataset.confirmCancel = "";
  const confirm = document.createElement("button");
  confirm.type = "button";
  confirm.className = "button primary";
  confirm.textContent = "Confirm";
  confirm.dataset.confirmAccept = "";
  actions.append(cancel, confirm);
  dialog.append(question, actions);
  document.body.append(dialog);
  return { dialog, question, cancel, confirm };
}

/** Asks `question` in a modal dialog; resolves to true on Confirm, false on Cancel or Escape. */
export function askConfirmation(question, { confirmLabel = "Confirm", danger = false } = {}) {
  if (typeof HTMLDialogElement === "undefined" || !("showModal" in HTMLDialogElement.prototype)) {
    return Promise.resolve(window.confirm(question));
  }
  if (!confirmDialog || !confirmDialog.dialog.isConnected) confirmDialog = buildConfirmDialog();
  const { dialog, question: text, cancel, confirm } = confirmDialog;
  text.textContent = question;
  confirm.textContent = confirmLabel;
  confirm.className = danger ? "button danger" : "button primary";
  const opener = document.activeElement;
  return new Promise((resolve) => {
    let answered = false;
    const finish = (value) => {
      if (answered) return;
      answered = true;
      cancel.removeEventListener("click", onCancel);
      confirm.removeEventListener("click", onConfirm);
      dialog.removeEventListener("close", onClose);
      if (dialog.open) dialog.close();
      if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus({ preventScroll: true });
      resolve(value);
    };
    const onCancel = () => finish(false);
    const onConfirm = () => finish(true);
    const onClose = () => finish(false); // Escape (the dialog's cancel) closes it
    cancel.addEventListener("click", onCancel);
    confirm.addEventListener("click", onConfirm);
    dialog.addEventListener("close", onClose);
    dialog.showModal();
    cancel.focus(); // the safe choice has the focus
  });
}

function wireConfirm() {
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) return;
    if (form.dataset.confirmed === "yes") {
      delete form.dataset.confirmed; // this submission goes through; the next one asks again
      return;
    }
    event.preventDefault();
    const submitter = event.submitter || null;
    const danger = !!(submitter && submitter.classList.contains("danger")) || form.classList.contains("danger");
    const label = form.dataset.confirmLabel || "Confirm";
    const yes = await askConfirmation(form.getAttribute("data-confirm") || "Are you sure?", { confirmLabel: label, danger });
    if (!yes) return;
    form.dataset.confirmed = "yes";
    if (typeof form.requestSubmit === "function") {
      // Keeps the submitter's name=value (and fires submit again, which now passes).
      if (submitter && submitter.form === form) form.requestSubmit(submitter);
      else form.requestSubmit();
    } else {
      delete form.dataset.confirmed;
      HTMLFormElement.prototype.submit.call(form);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// [data-schedule-preview]: the next runs of a schedule as it is typed

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function wireSchedulePreview(root) {
  for (const box of root.querySelectorAll("[data-schedule-preview]")) {
    if (!once(box)) continue;
    const scheduleInput = box.querySelector('[name="schedule"]');
    const zoneInput = box.querySelector('[name="timeZone"]');
    const windowInput = box.querySelector('[name="window"]');
    const spreadInput = box.querySelector('[name="spread"]');
    const jobID = box.dataset.jobId || undefined;
    const output = box.querySelector("[data-preview-output]");
    const onCalendar = box.querySelector("[data-preview-oncalendar]");
    const errorBox = box.querySelector("[data-preview-error]");
    if (!scheduleInput || !output) continue;
    if (!output.hasAttribute("aria-live")) output.setAttribute("aria-live", "polite");
    let sequence = 0;

    const setInvalid = (field) => {
      for (const input of [scheduleInput, zoneInput, windowInput, spreadInput]) {
        if (!input) continue;
        if (input === field) input.setAttribute("aria-invalid", "true");
        else if (input.dataset.previewInvalid === "yes") input.removeAttribute("aria-invalid");
        if (input === field) input.dataset.previewInvalid = "yes";
        else delete input.dataset.previewInvalid;
      }
    };
    const showError = (message, field) => {
      output.replaceChildren();
      if (onCalendar) {
        onCalendar.textContent = "";
        onCalendar.hidden = true;
      }
      if (errorBox) {
        errorBox.textContent = message;
        errorBox.hidden = false;
      }
      setInvalid(field === "timeZone" ? zoneInput : field === "window" ? windowInput : field === "spread" ? spreadInput : scheduleInput);
    };
    const clearError = () => {
      if (errorBox) {
        errorBox.textContent = "";
        errorBox.hidden = true;
      }
      setInvalid(null);
    };

    const refresh = async () => {
      const mine = ++sequence;
      const schedule = scheduleInput.value.trim();
      const timeZone = zoneInput ? zoneInput.value.trim() : "";
      if (!schedule) {
        output.replaceChildren();
        if (onCalendar) onCalendar.hidden = true;
        clearError();
        return;
      }
      output.setAttribute("aria-busy", "true");
      try {
        const windowText = windowInput ? windowInput.value.trim() : "";
        const spreadText = spreadInput ? spreadInput.value.trim() : "";
        const answer = await api("POST", "/api/v1/schedules/preview", {
          schedule, timeZone: timeZone || undefined, count: 5,
          window: windowText || undefined, spread: spreadText || undefined, job: jobID,
        });
        if (mine !== sequence) return; // a newer request is on its way
        clearError();
        const zone = answer && answer.timeZone ? answer.timeZone : timeZone || undefined;
        const items = (answer && Array.isArray(answer.next) ? answer.next : []).map((iso) => {
          const item = document.createElement("li");
          const date = new Date(iso);
          item.textContent = Number.isNaN(date.getTime()) ? String(iso) : formatDate(date, { timeZone: zone, weekday: true, timeZoneName: true });
          item.title = String(iso);
          return item;
        });
        output.replaceChildren(...items);
        if (onCalendar) {
          const line = answer && answer.onCalendar ? String(answer.onCalendar) : "";
          onCalendar.textContent = line;
          onCalendar.hidden = !line;
        }
      } catch (error) {
        if (mine !== sequence) return;
        showError(error.message, error.field);
      } finally {
        if (mine === sequence) output.removeAttribute("aria-busy");
      }
    };

    const later = debounce(refresh, 300);
    for (const input of [scheduleInput, zoneInput, windowInput, spreadInput]) {
      if (!input) continue;
      input.addEventListener("input", later);
      input.addEventListener("change", later);
    }
    refresh();
  }
}

// ---------------------------------------------------------------------------------------------
// [data-live-run="RUN_ID"]: live progress from server-sent events

const STATUS_CLASSES = ["queued", "running", "succeeded", "failed", "partial", "interrupted", "canceled", "cancelled", "missed", "unknown"];

/** Applies one event `{status, finished, progress}` to a live-run section. Exported for tests. */
export function applyRunUpdate(section, update) {
  const $ = (selector) => section.querySelector(selector);
  const bar = $("[data-progress-bar]");
  const progress = update && update.progress && typeof update.progress === "object" ? update.progress : null;
  const status = update && typeof update.status === "string" ? update.status : null;

  if (progress) {
    const fraction = Number.isFinite(progress.percentDone) ? Math.min(1, Math.max(0, progress.percentDone)) : null;
    if (bar && fraction !== null) bar.value = Math.round(fraction * 1000) / 10;
    const percent = $("[data-progress-percent]");
    if (percent && fraction !== null) percent.textContent = `${Math.floor(fraction * 100)} %`;
    const files = $("[data-progress-files]");
    if (files && Number.isFinite(progress.filesDone)) {
      files.textContent = Number.isFinite(progress.totalFiles) && progress.totalFiles > 0
        ? `${formatCount(progress.filesDone)} of ${formatCount(progress.totalFiles)}`
        : formatCount(progress.filesDone);
    }
    const bytes = $("[data-progress-bytes]");
    if (bytes && Number.isFinite(progress.bytesDone)) {
      bytes.textContent = Number.isFinite(progress.totalBytes) && progress.totalBytes > 0
        ? `${formatBytes(progress.bytesDone)} of ${formatBytes(progress.totalBytes)}`
        : formatBytes(progress.bytesDone);
    }
    const throughput = $("[data-progress-throughput]");
    if (throughput) {
      throughput.textContent = Number.isFinite(progress.bytesDone) && Number.isFinite(progress.secondsElapsed) && progress.secondsElapsed > 0
        ? `${formatBytes(progress.bytesDone / progress.secondsElapsed)}/s`
        : "—";
    }
    const eta = $("[data-progress-eta]");
    if (eta) eta.textContent = update.finished ? "—" : formatDuration(progress.secondsRemaining);
    const phase = $("[data-progress-phase]");
    if (phase && typeof progress.phase === "string") phase.textContent = progress.phase;
  }

  if (status) {
    const badge = $("[data-run-status]");
    if (badge) {
      // A run waiting for its window or a slot says so (with its place in line) instead of "running".
      const waiting = progress && progress.waiting && !update.finished && typeof progress.phase === "string";
      const label = waiting ? progress.phase : status.replace(/_/g, " ");
      if (badge.textContent.trim() !== label) {
        badge.textContent = label;
        if (section.dataset.liveStatus && section.dataset.liveStatus !== status) announce(`Run ${label}`);
      }
      badge.classList.remove(...STATUS_CLASSES);
      if (badge.dataset.status) badge.classList.remove(badge.dataset.status);
      badge.classList.add("badge", status);
      badge.dataset.status = status;
    }
    section.dataset.liveStatus = status;
  }

  if (update && update.finished) {
    if (bar) {
      if (status === "succeeded") bar.value = 100;
      bar.classList.remove(...STATUS_CLASSES);
      if (status) bar.classList.add(status);
    }
    if (status === "succeeded") {
      const percent = $("[data-progress-percent]");
      if (percent) percent.textContent = "100 %";
    }
    const eta = $("[data-progress-eta]");
    if (eta) eta.textContent = "—";
  }
}

function wireLiveRuns(root) {
  if (typeof EventSource === "undefined") return;
  for (const section of root.querySelectorAll("[data-live-run]")) {
    if (!once(section)) continue;
    const id = section.getAttribute("data-live-run");
    if (!id) continue;
    const source = new EventSource(`/backups/runs/${encodeURIComponent(id)}/events`);
    let done = false;
    source.addEventListener("message", (event) => {
      if (done) return;
      let update;
      try {
        update = JSON.parse(event.data);
      } catch {
        return;
      }
      applyRunUpdate(section, update);
      if (update && update.finished) {
        done = true;
        source.close();
        setTimeout(() => location.reload(), 800);
      }
    });
    // Errors: EventSource reconnects by itself; leaving the page closes it.
    window.addEventListener("pagehide", () => source.close(), { once: true });
  }
}

// ---------------------------------------------------------------------------------------------
// [data-local-time="ISO-8601"]: the time in the browser's zone

function wireLocalTimes(root) {
  for (const element of root.querySelectorAll("[data-local-time]")) {
    if (!once(element)) continue;
    const iso = element.getAttribute("data-local-time") || element.getAttribute("datetime") || element.textContent.trim();
    const date = new Date(iso);
    if (!iso || Number.isNaN(date.getTime())) continue;
    if (!element.title) element.title = iso;
    if (element instanceof HTMLTimeElement && !element.getAttribute("datetime")) element.setAttribute("datetime", iso);
    element.textContent = formatDate(date);
  }
}

// ---------------------------------------------------------------------------------------------
// Destination forms (sealing), loaded only on the pages that have one

async function wireDestinationForms(root) {
  if (!root.querySelector("form[data-destination-form], form[data-attach-form], form[data-trust-form], form[data-sign-form]")) return;
  const module = await import("./destination-form.js");
  module.init(root);
}

// ---------------------------------------------------------------------------------------------

/** Wires every behaviour inside `root` (the document by default); safe to call again. */
export function init(root = document) {
  if (!documentListeners) {
    documentListeners = true;
    wireCopy();
    wireConfirm();
  }
  wireSchedulePreview(root);
  wireLiveRuns(root);
  wireLocalTimes(root);
  const done = wireDestinationForms(root).catch((error) => {
    console.error("mzpanel: the destination form could not load", error);
    for (const form of root.querySelectorAll("form[data-destination-form], form[data-attach-form], form[data-trust-form], form[data-sign-form]")) {
      const box = form.querySelector("[data-form-error]");
      if (box) {
        box.textContent = "This form needs its script, which did not load; reload the page.";
        box.hidden = false;
      }
    }
  });
  // <html data-app="ready">: every behaviour is wired (browser tests wait for it).
  return done.then(() => {
    document.documentElement.dataset.app = "ready";
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => init(), { once: true });
else init();
