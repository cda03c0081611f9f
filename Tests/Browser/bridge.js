// Loaded by bridge.html: imports the modules under test once and exposes them, with a few byte
// helpers, as `globalThis.bridge` for the scripts jsbridge.py runs. `bridge.ready` tells the
// driver that the modules loaded (a syntax error in them shows up as `bridge.loadError`).

function hexToBytes(hex) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) throw new Error(`not hex: ${hex}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

globalThis.bridge = { ready: false, loadError: null, hexToBytes, bytesToHex };

Promise.all([import("/js/hpke.js"), import("/js/sealing.js")]).then(
  ([hpke, sealing]) => {
    Object.assign(globalThis.bridge, { hpke, sealing, ready: true });
    document.getElementById("status").textContent = "ready";
  },
  (error) => {
    globalThis.bridge.loadError = String((error && error.stack) || error);
    document.getElementById("status").textContent = "load error";
  },
);
