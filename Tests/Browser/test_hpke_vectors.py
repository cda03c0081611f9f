#!/usr/bin/env python3
"""Browser tests of Sources/ControlPlane/Resources/static/js/hpke.js and sealing.js in headless Chromium (via jsbridge.py).

- Every RFC 9180 vector in Tests/SealingTests/Vectors/rfc9180-base-x25519-sha256-aesgcm.json (base mode,
  DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM and AES-256-GCM): the key pairs from ikmR
  and ikmE, `enc` and every ciphertext sealed in sequence with the ephemeral key fixed, every
  ciphertext opened in sequence with skRm, and the exported values.
- sealing.js (docs/sealing.md): vault with passphrase and recovery key, destination key records,
  envelopes sealed to a server key and opened again, and every way an envelope must fail to open.

Run: python3 Tests/Browser/test_hpke_vectors.py (plain unittest; non-zero exit on failure).
Needs Debian's chromium and chromium-driver, and selenium (in .build-venv; see jsbridge.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jsbridge  # noqa: E402

VECTORS_FILE = jsbridge.REPO / "Tests" / "SealingTests" / "Vectors" / "rfc9180-base-x25519-sha256-aesgcm.json"

# What the vector test checked, for the summary line.
STATS = {"vectors": 0, "encryptions": 0, "exports": 0}

# One vector, all in the page: derive both key pairs, seal every plaintext in sequence with the
# ephemeral key fixed, open every ciphertext in sequence, export every value from both contexts.
VECTOR_SCRIPT = r"""
const { hpke, hexToBytes: h } = bridge;
const v = args.vector;
const recipient = await hpke.deriveKeyPair(h(v.ikmR));
const ephemeral = await hpke.deriveKeyPair(h(v.ikmE));
const sender = await hpke.setupBaseS(recipient.publicKey, h(v.info), { aeadID: v.aead_id, ephemeralPrivateKey: ephemeral.privateKey });
const receiver = await hpke.setupBaseR(sender.enc, recipient.privateKey, h(v.info), { aeadID: v.aead_id });
const cts = [], pts = [];
for (const e of v.encryptions) cts.push(await sender.seal(h(e.aad), h(e.pt)));
// The published ciphertexts (not the ones just made) are what the recipient opens.
for (const e of v.encryptions) pts.push(await receiver.open(h(e.aad), h(e.ct)));
const exports = [];
for (const x of v.exports) {
  exports.push([await sender.export(h(x.exporter_context), x.L), await receiver.export(h(x.exporter_context), x.L)]);
}
// A ciphertext for another sequence number must not open, and must not advance the sequence.
const fresh = await hpke.setupBaseR(h(v.enc), recipient.privateKey, h(v.info), { aeadID: v.aead_id });
let outOfOrderOpened = true;
try { await fresh.open(h(v.encryptions[1].aad), h(v.encryptions[1].ct)); } catch { outOfOrderOpened = false; }
const firstAfterFailure = await fresh.open(h(v.encryptions[0].aad), h(v.encryptions[0].ct));
return {
  skRm: recipient.privateKey, pkRm: recipient.publicKey, skEm: ephemeral.privateKey, pkEm: ephemeral.publicKey,
  enc: sender.enc, cts, pts, exports, outOfOrderOpened, firstAfterFailure,
  publicKeyOfSkRm: await hpke.publicKeyOf(h(v.skRm)),
};
"""


class HPKEVectorTests(unittest.TestCase):
    bridge: jsbridge.Bridge

    @classmethod
    def setUpClass(cls) -> None:
        cls.bridge = jsbridge.Bridge()
        cls.bridge.start()
        cls.vectors = json.loads(VECTORS_FILE.read_text())

    @classmethod
    def tearDownClass(cls) -> None:
        cls.bridge.close()

    def test_vectors_cover_both_aeads(self) -> None:
        self.assertEqual({v["aead_id"] for v in self.vectors}, {1, 2})
        for v in self.vectors:
            self.assertEqual((v["mode"], v["kem_id"], v["kdf_id"]), (0, 0x20, 1))

    def test_every_vector(self) -> None:
        for index, vector in enumerate(self.vectors):
            with self.subTest(vector=index, aead=vector["aead_id"]):
                got = self.bridge.run(VECTOR_SCRIPT, {"vector": vector})
                for name in ("skRm", "pkRm", "skEm", "pkEm", "enc"):
                    self.assertEqual(got[name], vector[name], f"{name} of vector {index}")
                self.assertEqual(got["publicKeyOfSkRm"], vector["pkRm"])
                self.assertEqual(len(got["cts"]), len(vector["encryptions"]))
                for seq, (ct, pt, e) in enumerate(zip(got["cts"], got["pts"], vector["encryptions"])):
                    self.assertEqual(ct, e["ct"], f"ciphertext {seq} of vector {index}")
                    self.assertEqual(pt, e["pt"], f"plaintext {seq} of vector {index}")
                for (from_sender, from_receiver), x in zip(got["exports"], vector["exports"]):
                    self.assertEqual(from_sender, x["exported_value"])
                    self.assertEqual(from_receiver, x["exported_value"])
                self.assertFalse(got["outOfOrderOpened"], "a ciphertext opened under the wrong sequence number")
                self.assertEqual(got["firstAfterFailure"], vector["encryptions"][0]["pt"])
                STATS["vectors"] += 1
                STATS["encryptions"] += len(vector["encryptions"])
                STATS["exports"] += len(vector["exports"])

    def test_small_order_public_key_is_refused(self) -> None:
        error = self.run_error("await bridge.hpke.setupBaseS(new Uint8Array(32), new Uint8Array(0));")
        self.assertIn("X25519", error)

    def run_error(self, script: str, args=None) -> str:
        with self.assertRaises(jsbridge.BridgeError) as caught:
            self.bridge.run(script, args)
        return str(caught.exception)


# ---------------------------------------------------------------------------------------------
# sealing.js

ACCOUNT = "acc_01HZX0TEST"
DESTINATION = "dst_01HZX0OFFSITE"
SERVER = "srv_01HZX0WEB1"
SERVER_IKM = "00" * 31 + "01"
PASSPHRASE = "correct horse battery staple"
CREDENTIAL = {"repositoryPassword": "restic-pw-ä€𝄞", "accessKeyID": "AKIAEXAMPLE", "secretAccessKey": "s3cr3t/key+=="}

# A vault with the production iteration count, unlocked every way the page offers.
VAULT_SCRIPT = r"""
const s = await import('/js/sealing.js');
const { vault, recoveryKey, vaultKey } = await s.createVault(args.account, args.passphrase, { iterations: 600000 });
const attempt = async (f) => { try { await f(); return null; } catch (e) { return e.message; } };
const byPassphrase = await s.unlockVault(args.account, vault, args.passphrase);
const typed = recoveryKey.toLowerCase().replace(/-/g, " ");
const byRecovery = await s.unlockVaultWithRecoveryKey(args.account, vault, typed);
const otherRecovery = s.formatRecoveryKey(crypto.getRandomValues(new Uint8Array(32)));
return {
  vault, recoveryKey, vaultKey, byPassphrase, byRecovery,
  wrongPassphrase: await attempt(() => s.unlockVault(args.account, vault, args.passphrase + "!")),
  otherAccount: await attempt(() => s.unlockVault("acc_other", vault, args.passphrase)),
  wrongRecovery: await attempt(() => s.unlockVaultWithRecoveryKey(args.account, vault, otherRecovery)),
  malformedRecovery: await attempt(() => s.unlockVaultWithRecoveryKey(args.account, vault, recoveryKey.slice(0, -1))),
  swappedBoxes: await attempt(() => s.unlockVault(args.account, { ...vault, passphrase: vault.recovery }, args.passphrase)),
  lowIterations: await attempt(() => s.unlockVault(args.account, { ...vault, iterations: 1000 }, args.passphrase)),
  shortPassphrase: await attempt(() => s.createVault(args.account, "eleven char")),
  fewIterations: await attempt(() => s.createVault(args.account, args.passphrase, { iterations: 100000 })),
};
"""

# Vault -> destination key -> envelope to a server key -> opened again; then every way to fail.
ENVELOPE_SCRIPT = r"""
const s = await import('/js/sealing.js');
const { hpke, hexToBytes } = bridge;
const attempt = async (f) => { try { await f(); return null; } catch (e) { return e.message; } };
const { vault, recoveryKey } = await s.createVault(args.account, args.passphrase);
const vaultKey = await s.unlockVaultWithRecoveryKey(args.account, vault, recoveryKey);
const { record, ddk } = await s.createDestinationKey(args.account, args.destination, vaultKey, args.credential);
const unwrapped = await s.openDestinationKey(args.account, args.destination, vaultKey, record);

const server = await hpke.deriveKeyPair(hexToBytes(args.serverIKM));
const other = await hpke.deriveKeyPair(hexToBytes("ff".repeat(32)));
const keyID = await s.fingerprint(server.publicKey);
const peer = await s.generatePeerLogin(args.server);
const serverSecrets = { restUser: peer.restUser, restPassword: peer.restPassword };
const address = { accountID: args.account, destinationID: args.destination, serverID: args.server, keyID };
const ciphertext = await s.sealEnvelope({ ...address, serverPublicKey: s.base64Encode(server.publicKey), ddk: unwrapped.ddk,
                                          credentialBox: unwrapped.credentialBox, serverSecrets });
const plain = await s.sealEnvelope({ ...address, serverPublicKey: server.publicKey, ddk, credentialBox: record.credential });
const opened = await s.openEnvelope({ ...address, serverPrivateKey: server.privateKey, ciphertext });
const openedPlain = await s.openEnvelope({ ...address, serverPrivateKey: server.privateKey, ciphertext: plain });

// Re-encodes the envelope after changing it with f (on the parsed JSON object).
const envelope = JSON.parse(new TextDecoder().decode(s.base64Decode(ciphertext)));
const altered = (f) => { const e = structuredClone(envelope); f(e); return s.base64Encode(new TextEncoder().encode(JSON.stringify(e))); };
const flip = (b64, index = 0) => { const b = s.base64Decode(b64); b[index % b.length] ^= 0x01; return s.base64Encode(b); };
const open = (change, ct = ciphertext) => attempt(() => s.openEnvelope({ ...address, serverPrivateKey: server.privateKey, ciphertext: ct, ...change }));
const failures = {
  otherDestination: await open({ destinationID: "dst_other" }),
  otherServer: await open({ serverID: "srv_other" }),
  otherAccount: await open({ accountID: "acc_other" }),
  otherKeyID: await open({ keyID: await s.fingerprint(other.publicKey) }),
  otherPrivateKey: await open({ serverPrivateKey: other.privateKey }),
  alteredEnc: await open({}, altered((e) => { e.enc = flip(e.enc, 5); })),
  alteredDDK: await open({}, altered((e) => { e.ddk = flip(e.ddk, 3); })),
  alteredDDKTag: await open({}, altered((e) => { e.ddk = flip(e.ddk, 47); })),
  alteredServer: await open({}, altered((e) => { e.server = flip(e.server, 10); })),
  alteredCredentialCT: await open({}, altered((e) => { e.credential.ct = flip(e.credential.ct, 2); })),
  alteredCredentialNonce: await open({}, altered((e) => { e.credential.nonce = flip(e.credential.nonce, 0); })),
  swappedSeals: await open({}, altered((e) => { [e.ddk, e.server] = [e.server, e.ddk]; })),
  otherVersion: await open({}, altered((e) => { e.v = 2; })),
  notBase64: await open({}, ciphertext.slice(1)),
  alteredTextByte: await open({}, s.base64Encode((() => { const b = s.base64Decode(ciphertext); b[b.length - 3] ^= 0x20; return b; })())),
};
// A credential box made under this envelope's DDK but for another destination: its aad binds it.
const foreignBox = await s.sealBox(ddk, s.credentialAAD(args.account, "dst_other"), new TextEncoder().encode(JSON.stringify(args.credential)));
failures.credentialOfOtherDestination = await open({}, altered((e) => { e.credential = foreignBox; }));
const sealErrors = {
  wrongKeyID: await attempt(() => s.sealEnvelope({ ...address, keyID: "0000:0000:0000:0000:0000:0000:0000:0000", serverPublicKey: server.publicKey, ddk, credentialBox: record.credential })),
  shortKey: await attempt(() => s.sealEnvelope({ ...address, serverPublicKey: server.publicKey.slice(1), ddk, credentialBox: record.credential })),
  noRepositoryPassword: await attempt(() => s.createDestinationKey(args.account, args.destination, vaultKey, { accessKeyID: "x" })),
  nonStringMember: await attempt(() => s.createDestinationKey(args.account, args.destination, vaultKey, { repositoryPassword: "x", port: 22 })),
  recordOfOtherDestination: await attempt(() => s.openDestinationKey(args.account, "dst_other", vaultKey, record)),
  recordWithOtherVault: await attempt(() => s.openDestinationKey(args.account, args.destination, crypto.getRandomValues(new Uint8Array(32)), record)),
};
return { record, ddk, unwrapped, keyID, serverPublicKey: server.publicKey, peer, ciphertext, plain, envelope, opened, openedPlain, failures, sealErrors };
"""


class SealingTests(unittest.TestCase):
    bridge: jsbridge.Bridge

    @classmethod
    def setUpClass(cls) -> None:
        cls.bridge = jsbridge.Bridge()
        cls.bridge.start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.bridge.close()

    def test_vault(self) -> None:
        got = self.bridge.run(VAULT_SCRIPT, {"account": ACCOUNT, "passphrase": PASSPHRASE})
        vault = got["vault"]
        self.assertEqual(set(vault), {"v", "kdf", "iterations", "salt", "passphrase", "recovery", "signing", "signingKey"})
        self.assertEqual((vault["v"], vault["kdf"], vault["iterations"]), (1, "PBKDF2-SHA256", 600000))
        self.assertEqual(len(base64.b64decode(vault["salt"], validate=True)), 16)
        for part in ("passphrase", "recovery"):
            self.assertEqual(set(vault[part]), {"nonce", "ct"})
            self.assertEqual(len(base64.b64decode(vault[part]["nonce"], validate=True)), 12)
            self.assertEqual(len(base64.b64decode(vault[part]["ct"], validate=True)), 32 + 16)
        self.assertRegex(got["recoveryKey"], r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){12}$")
        self.assertEqual(len(got["vaultKey"]), 64)
        self.assertEqual(got["byPassphrase"], got["vaultKey"])
        self.assertEqual(got["byRecovery"], got["vaultKey"])
        self.assertIn("the vault passphrase is wrong", got["wrongPassphrase"])
        self.assertIn("the vault passphrase is wrong", got["otherAccount"])
        self.assertIn("the vault passphrase is wrong", got["swappedBoxes"])
        self.assertIn("the recovery key is wrong", got["wrongRecovery"])
        self.assertIn("not well formed", got["malformedRecovery"])
        self.assertIn("iterations", got["lowIterations"])
        self.assertIn("at least 12 characters", got["shortPassphrase"])
        self.assertIn("iterations", got["fewIterations"])

    def test_encodings_match_python(self) -> None:
        samples = [os.urandom(n) for n in (0, 1, 2, 3, 31, 32, 33)]
        got = self.bridge.run(
            r"""
            const s = await import('/js/sealing.js');
            const { hexToBytes } = bridge;
            const key = hexToBytes(args.key);
            const attempt = (f) => { try { f(); return null; } catch (e) { return e.message; } };
            return {
              b64: args.samples.map((x) => s.base64Encode(hexToBytes(x))),
              back: args.samples.map((x) => s.base64Decode(s.base64Encode(hexToBytes(x)))),
              b64url: args.samples.map((x) => s.base64UrlEncode(hexToBytes(x))),
              recovery: s.formatRecoveryKey(key),
              parsed: s.parseRecoveryKey(" " + s.formatRecoveryKey(key).toLowerCase().replace(/-/g, "- ") + "\n"),
              fingerprint: await s.fingerprint(key),
              unpadded: attempt(() => s.base64Decode("AAE")),
              urlAlphabet: attempt(() => s.base64Decode("-_-_")),
              context: s.envelopeContext("acc_1", "dst_2", "srv_3", "ab12"),
            };
            """,
            {"samples": [x.hex() for x in samples], "key": samples[5].hex()},
        )
        self.assertEqual(got["b64"], [base64.b64encode(x).decode() for x in samples])
        self.assertEqual(got["back"], [x.hex() for x in samples])
        self.assertEqual(got["b64url"], [base64.urlsafe_b64encode(x).decode().rstrip("=") for x in samples])
        compact = base64.b32encode(samples[5]).decode().rstrip("=")
        self.assertEqual(got["recovery"], "-".join(compact[i:i + 4] for i in range(0, 52, 4)))
        self.assertEqual(got["parsed"], samples[5].hex())
        digest = hashlib.sha256(samples[5]).hexdigest()[:32]
        self.assertEqual(got["fingerprint"], ":".join(digest[i:i + 4] for i in range(0, 32, 4)))
        self.assertIsNotNone(got["unpadded"])
        self.assertIsNotNone(got["urlAlphabet"])
        self.assertEqual(got["context"], "mzpanel-envelope/v1\nacc_1\ndst_2\nsrv_3\nab12")

    def test_envelope_round_trip_and_failures(self) -> None:
        got = self.bridge.run(ENVELOPE_SCRIPT, {"account": ACCOUNT, "destination": DESTINATION, "server": SERVER,
                                                "serverIKM": SERVER_IKM, "passphrase": PASSPHRASE, "credential": CREDENTIAL})
        # Key record and the unwrapped DDK.
        self.assertEqual(set(got["record"]), {"v", "wrappedKey", "credential"})
        self.assertEqual(got["record"]["v"], 1)
        self.assertEqual(got["unwrapped"]["ddk"], got["ddk"])
        self.assertEqual(got["unwrapped"]["credentialBox"], got["record"]["credential"])
        # Key id.
        digest = hashlib.sha256(bytes.fromhex(got["serverPublicKey"])).hexdigest()[:32]
        self.assertEqual(got["keyID"], ":".join(digest[i:i + 4] for i in range(0, 32, 4)))
        # Envelope shape: base64 of JSON with v, enc, ddk, credential (unchanged box), server.
        envelope = json.loads(base64.b64decode(got["ciphertext"], validate=True))
        self.assertEqual(envelope, got["envelope"])
        self.assertEqual(set(envelope), {"v", "enc", "ddk", "credential", "server"})
        self.assertEqual(envelope["v"], 1)
        self.assertEqual(len(base64.b64decode(envelope["enc"], validate=True)), 32)
        self.assertEqual(len(base64.b64decode(envelope["ddk"], validate=True)), 32 + 16)
        self.assertEqual(envelope["credential"], got["record"]["credential"])
        self.assertNotIn("server", json.loads(base64.b64decode(got["plain"], validate=True)))
        # Opened again: the credential, the server secrets, the DDK.
        self.assertEqual(got["opened"]["credential"], CREDENTIAL)
        self.assertEqual(got["opened"]["serverSecrets"], {"restUser": SERVER, "restPassword": got["peer"]["restPassword"]})
        self.assertEqual(got["opened"]["ddk"], got["ddk"])
        self.assertEqual(got["openedPlain"]["credential"], CREDENTIAL)
        self.assertIsNone(got["openedPlain"]["serverSecrets"])
        # Every altered or misaddressed envelope fails with the one message.
        for name, error in got["failures"].items():
            with self.subTest(failure=name):
                self.assertIsNotNone(error, f"{name}: the envelope opened")
                self.assertIn("the credential cannot be opened on this server", error)
        errors = got["sealErrors"]
        self.assertIn("not the fingerprint", errors["wrongKeyID"])
        self.assertIn("32-byte X25519 key", errors["shortKey"])
        self.assertIn("repositoryPassword", errors["noRepositoryPassword"])
        self.assertIn("must be a string", errors["nonStringMember"])
        self.assertIn("cannot be opened with this vault", errors["recordOfOtherDestination"])
        self.assertIn("cannot be opened with this vault", errors["recordWithOtherVault"])

    def test_peer_login(self) -> None:
        got = self.bridge.run("return await (await import('/js/sealing.js')).generatePeerLogin(args.server);", {"server": SERVER})
        self.assertEqual(got["restUser"], SERVER)
        self.assertRegex(got["restPassword"], r"^[A-Za-z0-9_-]{43}$")
        self.assertEqual(len(base64.urlsafe_b64decode(got["restPassword"] + "=")), 32)
        sha1 = base64.b64encode(hashlib.sha1(got["restPassword"].encode()).digest()).decode()
        self.assertEqual(got["htpasswd"], f"{SERVER}:{{SHA}}{sha1}")


def main() -> int:
    jsbridge.ensure_selenium()
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"HPKE vectors: {STATS['vectors']} vectors, {STATS['encryptions']} encryptions sealed and opened, "
          f"{STATS['exports']} exports checked")
    print(f"browser: {result.testsRun - failed - len(result.skipped)} passed, {failed} failed")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
