#!/usr/bin/env python3
"""Browser tests of the destination and attach forms (static/js/destination-form.js) in headless Chromium.

The forms' markup is a static copy of the contract (fixtures/destination-form.html,
fixtures/attach-form.html); the API is a fake hub in Python (fakehub.py) that records every
request. What is checked:
- local: the form posts {name, kind, settings} and goes to the destination's page;
- s3 with no vault yet: the vault is made and stored, the recovery key is shown once, the
  destination is created without any secret in any request, its key record is stored, and one
  envelope goes to each checked server, which opens (with that server's private key) to the
  credential typed in the page;
- peer: the storage server cannot be chosen as a source, and the envelope carries a peer login
  whose htpasswd line goes to the hub;
- errors: a missing secret or passphrase is shown next to its field and nothing is sent; an API
  error naming settings.bucket shows next to that field; a wrong passphrase shows at the vault
  field; a failed key record takes the destination back; a failed envelope keeps the destination;
- the attach form seals an existing destination to one more server without asking for the
  credential again.

Run: python3 Tests/Browser/test_destination_form.py (plain unittest; non-zero exit on failure).
Needs Debian's chromium and chromium-driver, and selenium (in .build-venv; see jsbridge.py).
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jsbridge  # noqa: E402

jsbridge.ensure_selenium()

import fakehub  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

ACCOUNT = "acc_test1"
PASSPHRASE = "correct horse battery staple"
KEYS = {server: fakehub.ServerKey(server) for server in ("srv_1", "srv_2", "srv_3")}
TOKENS = {"ACCOUNT": ACCOUNT}
for _server, _key in KEYS.items():
    TOKENS[f"{_server.upper()}_PUBLIC"] = _key.public_b64
    TOKENS[f"{_server.upper()}_KEYID"] = _key.key_id

# Made in the page: a vault (and optionally a destination's key record), as another session would have.
PREPARE_SCRIPT = r"""
const s = await import('/backups/static/js/sealing.js');
const { vault, vaultKey, signingKey } = await s.createVault(args.account, args.passphrase);
let record = null;
if (args.destinationID) ({ record } = await s.createDestinationKey(args.account, args.destinationID, vaultKey, args.credential));
const certificates = {};
for (const [serverID, publicKey] of args.certify) certificates[serverID] = await s.certifyServer(args.account, serverID, publicKey, signingKey);
return { vault, record, certificates };
"""

# Opens an envelope as the agent would, and the destination's key record with the vault.
OPEN_SCRIPT = r"""
const s = await import('/backups/static/js/sealing.js');
const hex = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
const opened = await s.openEnvelope({
  accountID: args.account, destinationID: args.destinationID, serverID: args.serverID, keyID: args.keyID,
  serverPrivateKey: hex(args.privateKey), ciphertext: args.ciphertext,
});
const vaultKey = await s.unlockVault(args.account, args.vault, args.passphrase);
const { ddk } = await s.openDestinationKey(args.account, args.destinationID, vaultKey, args.record);
return { credential: opened.credential, serverSecrets: opened.serverSecrets, envelopeDDK: opened.ddk, recordDDK: ddk };
"""

# The fixtures' servers as the hub reports them (names as the fixtures label them).
SERVER_NAMES = {"srv_1": "web-1", "srv_2": "web-2", "srv_3": "storage-1"}

RECOVERY_KEY = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){12}$")


class BrowserTestCase(unittest.TestCase):
    hub: fakehub.FakeHub
    driver = None

    @classmethod
    def setUpClass(cls) -> None:
        cls.hub = fakehub.FakeHub(TOKENS)
        try:
            cls.driver = jsbridge.chromium_driver()
        except Exception:
            cls.hub.close()
            raise
        cls.driver.set_script_timeout(120)

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.driver is not None:
            cls.driver.quit()
        cls.hub.close()

    def setUp(self) -> None:
        self.hub.reset()
        self.hub.tokens = dict(TOKENS)
        self.hub.servers = {
            server: {"id": server, "accountID": ACCOUNT, "name": name, "publicKey": KEYS[server].public_b64, "keyFingerprint": KEYS[server].key_id}
            for server, name in SERVER_NAMES.items()
        }

    # Helpers ------------------------------------------------------------------------------

    def open(self, page: str) -> None:
        self.driver.get(f"{self.hub.url}{page}")
        self.wait(lambda: self.driver.execute_script("return document.documentElement.dataset.app") == "ready", "app.js did not finish wiring the page")

    def wait(self, predicate, message: str = "condition not met", timeout: float = 30):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(lambda _: predicate())
        except Exception as error:
            raise AssertionError(f"{message} (within {timeout:g} s); page errors: {self.form_error_text()!r}") from error

    def js(self, script: str, args=None):
        return jsbridge.run_in_page(self.driver, script, args, timeout=120)

    def css(self, selector: str):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def fill(self, selector: str, text: str) -> None:
        element = self.css(selector)
        element.clear()
        element.send_keys(text)

    def form_error_text(self) -> str:
        try:
            return self.driver.execute_script(
                "return [...document.querySelectorAll('[data-form-error], [data-error-for]')].filter(e => !e.hidden).map(e => e.textContent).join(' | ')"
            )
        except Exception:
            return ""

    def visible_error(self, field: str) -> str:
        """The text of the shown error paragraph for `field` (in the visible part of the form), or ''."""
        return self.driver.execute_script(
            "const p = [...document.querySelectorAll(`[data-error-for='${arguments[0]}']`)].find(e => e.offsetParent !== null);"
            "return p ? p.textContent : '';",
            field,
        )

    def api_calls(self) -> list[tuple[str, str]]:
        """The API calls in order, but the server look-ups that precede each sealing."""
        return [
            (r["method"], r["path"]) for r in self.hub.api_requests()
            if r["path"].startswith("/api/") and not (r["method"] == "GET" and r["path"].startswith("/api/v1/servers/"))
        ]

    def prepare_vault(self, destination_id: str | None = None, credential: dict | None = None, certify=("srv_1", "srv_2", "srv_3")) -> dict:
        """A vault made in a page, as another session would have, with these servers certified by its signing key."""
        self.driver.get(f"{self.hub.url}/backups/destinations/setup")
        made = self.js(
            PREPARE_SCRIPT,
            {"account": ACCOUNT, "passphrase": PASSPHRASE, "destinationID": destination_id, "credential": credential,
             "certify": [[server, KEYS[server].public_b64] for server in certify]},
        )
        self.hub.vault = made["vault"]
        for server, certificate in made["certificates"].items():
            self.hub.servers[server]["certificate"] = certificate
        return made

    def open_envelope(self, destination_id: str, server_id: str, ciphertext: str, record: dict, vault: dict) -> dict:
        key = KEYS[server_id]
        return self.js(
            OPEN_SCRIPT,
            {
                "account": ACCOUNT, "destinationID": destination_id, "serverID": server_id, "keyID": key.key_id,
                "privateKey": key.private.hex(), "ciphertext": ciphertext, "record": record, "vault": vault, "passphrase": PASSPHRASE,
            },
        )

    def choose_kind(self, kind: str) -> None:
        self.css(f'input[name="kind"][value="{kind}"]').click()
        self.wait(lambda: self.css(f'fieldset[data-kind="{kind}"]').is_displayed(), f"the {kind} fieldset did not show")

    def fill_s3(self, *, secret: str = "s3cr3t/KEY+value", bucket: str = "backups") -> None:
        self.fill("#d-name", "offsite")
        self.fill("#d-s3-endpoint", "https://s3.example.com")
        self.fill("#d-s3-bucket", bucket)
        self.fill("#d-s3-prefix", "mz")
        self.css('input[name="settings.pathStyle"]').click()
        self.fill("#d-s3-key", "AKIATESTKEY123")
        if secret:
            self.fill("#d-s3-secret", secret)

    def submit(self) -> None:
        self.css('form button[type="submit"]').click()

    def assert_nothing_sent(self) -> None:
        time.sleep(0.4)
        self.assertEqual([c for c in self.api_calls() if c != ("GET", "/api/v1/vault")], [])


class DestinationFormTests(BrowserTestCase):
    def test_kind_switch_shows_one_fieldset(self) -> None:
        self.open("/fixtures/destination-form.html")
        self.assertTrue(self.css('fieldset[data-kind="local"]').is_displayed())
        self.assertFalse(self.css("fieldset[data-offsite]").is_displayed())
        self.choose_kind("b2")
        shown = self.driver.execute_script("return [...document.querySelectorAll('fieldset[data-kind]')].filter(f => !f.hidden).map(f => f.dataset.kind)")
        self.assertEqual(shown, ["b2"])
        self.assertTrue(self.css("fieldset[data-offsite]").is_displayed())
        self.assertEqual(self.driver.switch_to.active_element.get_attribute("value"), "b2")  # focus stays on the radio
        self.wait(lambda: self.css("[data-vault-new]").is_displayed(), "no vault yet: the confirmation field should show")
        self.choose_kind("local")
        self.assertFalse(self.css("fieldset[data-offsite]").is_displayed())

    def test_local_posts_name_kind_settings(self) -> None:
        self.open("/fixtures/destination-form.html")
        self.fill("#d-name", "nas")
        self.fill("#d-local-path", "/srv/backups")
        self.submit()
        self.wait(lambda: self.driver.current_url.endswith("/backups/destinations/dst_1"), "no redirect to the destination")
        posts = self.hub.api_requests("POST", "/api/v1/destinations")
        self.assertEqual(len(posts), 1)
        self.assertEqual(posts[0]["json"], {"name": "nas", "kind": "local", "settings": {"path": "/srv/backups"}})
        self.assertEqual(posts[0]["headers"].get("X-MZPanel-Request"), "1")
        self.assertTrue(posts[0]["headers"].get("Content-Type", "").startswith("application/json"))
        self.assertEqual([c for c in self.api_calls() if c[0] != "GET"], [("POST", "/api/v1/destinations")])

    def test_the_first_vault_signs_what_the_account_already_has(self) -> None:
        self.hub.destinations["dst_9"] = {"id": "dst_9", "accountID": ACCOUNT, "name": "nas", "kind": "local", "settings": {"path": "/srv/nas"}}
        self.hub.jobs["job_1"] = dict(SignFormTests.JOB)
        self.open("/fixtures/destination-form.html")
        self.choose_kind("s3")
        self.wait(lambda: self.css("[data-vault-new]").is_displayed(), "no vault yet: the confirmation field should show")
        self.fill_s3()
        self.fill("#d-vault", PASSPHRASE)
        self.fill("#d-vault-confirm", PASSPHRASE)
        self.submit()
        self.wait(lambda: self.driver.execute_script("return document.querySelector('[data-recovery-dialog]').open"), "the recovery key was not shown")
        self.css("[data-recovery-ack]").click()
        self.wait(lambda: "manifest" in self.hub.jobs["job_1"], "the existing job was not signed", timeout=60)
        # The form may still move on (or navigate) after the last signature: verify in a freshly loaded page,
        # so a navigation cannot swallow the verifying script.
        self.open("/fixtures/destination-form.html")
        for item in (self.hub.destinations["dst_9"], self.hub.jobs["job_1"]):
            signed = self.js(MANIFEST_SCRIPT, {"manifest": item["manifest"], "accountKey": self.hub.vault["signingKey"]})
            self.assertTrue(signed["ok"])
            self.assertIn(signed["document"].get("destinationID", signed["document"].get("jobID")), ("dst_9", "job_1"))

    def test_s3_with_new_vault_stores_the_credential_and_asks_to_certify(self) -> None:
        self.open("/fixtures/destination-form.html")
        self.choose_kind("s3")
        self.wait(lambda: self.css("[data-vault-new]").is_displayed(), "no vault yet: the confirmation field should show")
        self.fill_s3()
        self.fill("#d-vault", PASSPHRASE)
        self.fill("#d-vault-confirm", PASSPHRASE)
        self.css('[data-attach][value="srv_1"]').click()
        self.css('[data-attach][value="srv_3"]').click()
        self.submit()

        self.wait(lambda: self.driver.execute_script("return document.querySelector('[data-recovery-dialog]').open"), "the recovery key was not shown")
        recovery = self.css("[data-recovery-key]").text.strip()
        self.assertRegex(recovery, RECOVERY_KEY)
        # The vault is stored; nothing else happens until the key is acknowledged.
        self.assertEqual([c for c in self.api_calls() if c[0] != "GET"], [("PUT", "/api/v1/vault")])
        self.assertEqual(self.css('button[type="submit"]').text, "Sealing…")
        self.css("[data-recovery-ack]").click()
        # A brand-new vault has certified no server yet: nothing is sealed, the page says how to go on.
        self.wait(lambda: self.css("[data-form-error]").is_displayed(), "no form error", timeout=60)
        text = self.css("[data-form-error]").text
        for name, server in (("web-1", "srv_1"), ("storage-1", "srv_3")):
            self.assertIn(f"{name}'s key is not certified by your account key", text)
            self.assertIn(KEYS[server].key_id, text, "the message names the fingerprint the box must print")
        self.assertEqual(self.hub.envelopes, {})

        self.assertEqual(
            self.api_calls(),
            [
                ("GET", "/api/v1/vault"),
                ("PUT", "/api/v1/vault"),
                ("GET", "/api/v1/destinations"),
                ("GET", "/api/v1/jobs"),
                ("POST", "/api/v1/destinations"),
                ("PATCH", "/api/v1/destinations/dst_1"),
                ("GET", "/api/v1/destinations/dst_1"),
                ("PUT", "/api/v1/destinations/dst_1/manifest"),
            ],
        )
        # The new destination's settings are signed with the new vault's key.
        signed = self.js(MANIFEST_SCRIPT, {"manifest": self.hub.destinations["dst_1"]["manifest"],
                                           "accountKey": self.hub.vault["signingKey"]})
        self.assertTrue(signed["ok"])
        self.assertEqual(signed["document"]["type"], "destination")
        self.assertEqual(signed["document"]["destinationID"], "dst_1")
        self.assertEqual(signed["document"]["settings"]["bucket"], "backups")
        # No secret in any request, anywhere.
        for request in self.hub.api_requests():
            for secret in ("AKIATESTKEY123", "s3cr3t/KEY+value", "s3cr3t", PASSPHRASE, recovery):
                self.assertNotIn(secret, request["body"] + request["path"] + request["query"], request["method"] + " " + request["path"])

        vault_put = self.hub.api_requests("PUT", "/api/v1/vault")[0]["json"]
        self.assertEqual(set(vault_put), {"vault"})
        self.assertEqual(set(vault_put["vault"]), {"v", "kdf", "iterations", "salt", "passphrase", "recovery", "signing", "signingKey"})
        self.assertEqual(
            self.hub.api_requests("POST", "/api/v1/destinations")[0]["json"],
            {"name": "offsite", "kind": "s3", "settings": {"endpoint": "https://s3.example.com", "bucket": "backups", "prefix": "mz", "pathStyle": True}},
        )
        patch = self.hub.api_requests("PATCH")[0]["json"]
        self.assertEqual(set(patch), {"credentialKey"})
        record = patch["credentialKey"]
        self.assertEqual(record["v"], 1)
        self.assertEqual(set(record), {"v", "wrappedKey", "credential"})
        for box in (record["wrappedKey"], record["credential"]):
            self.assertEqual(set(box), {"nonce", "ct"})


    def test_s3_seals_only_to_servers_the_vault_certified(self) -> None:
        made = self.prepare_vault(certify=("srv_1",))
        self.open("/fixtures/destination-form.html")
        self.choose_kind("s3")
        self.fill_s3()
        self.fill("#d-vault", PASSPHRASE)
        self.css('[data-attach][value="srv_1"]').click()
        self.css('[data-attach][value="srv_3"]').click()
        self.submit()
        self.wait(lambda: self.css("[data-form-error]").is_displayed(), "no form error", timeout=60)
        self.assertIn("storage-1's key is not certified by your account key", self.css("[data-form-error]").text)
        self.assertNotIn("web-1", self.css("[data-form-error]").text)
        self.assertEqual(list(self.hub.envelopes), [("dst_1", "srv_1")])
        record = self.hub.api_requests("PATCH")[0]["json"]["credentialKey"]
        envelope = self.hub.envelopes[("dst_1", "srv_1")]
        self.assertEqual(set(envelope), {"keyID", "version", "ciphertext"})
        self.assertEqual(envelope["version"], 1)
        self.assertEqual(envelope["keyID"], KEYS["srv_1"].key_id)
        opened = self.open_envelope("dst_1", "srv_1", envelope["ciphertext"], record, made["vault"])
        credential = opened["credential"]
        self.assertEqual(set(credential), {"accessKeyID", "secretAccessKey", "repositoryPassword"})
        self.assertEqual(credential["accessKeyID"], "AKIATESTKEY123")
        self.assertEqual(credential["secretAccessKey"], "s3cr3t/KEY+value")
        self.assertRegex(credential["repositoryPassword"], r"^[A-Za-z0-9_-]{43}$")  # 32 random bytes, base64url
        self.assertIsNone(opened["serverSecrets"])
        self.assertEqual(opened["envelopeDDK"], opened["recordDDK"])

    def test_a_key_swapped_by_the_hub_gets_nothing(self) -> None:
        self.prepare_vault()
        self.hub.servers["srv_1"].update(publicKey=KEYS["srv_2"].public_b64, keyFingerprint=KEYS["srv_2"].key_id)
        self.open("/fixtures/destination-form.html")
        self.choose_kind("s3")
        self.fill_s3()
        self.fill("#d-vault", PASSPHRASE)
        self.css('[data-attach][value="srv_1"]').click()
        self.submit()
        self.wait(lambda: self.css("[data-form-error]").is_displayed(), "no form error", timeout=60)
        self.assertIn("web-1's key is not certified by your account key", self.css("[data-form-error]").text)
        self.assertEqual(self.hub.envelopes, {})

    def test_missing_secret_shows_next_to_field_and_sends_nothing(self) -> None:
        self.open("/fixtures/destination-form.html")
        self.choose_kind("s3")
        self.wait(lambda: self.css("[data-vault-new]").is_displayed(), "no vault yet")
        self.fill_s3(secret="")
        self.fill("#d-vault", PASSPHRASE)
        self.fill("#d-vault-confirm", PASSPHRASE)
        self.submit()
        self.wait(lambda: self.visible_error("secret.secretAccessKey") != "", "no error next to the secret access key")
        self.assertIn("Secret access key", self.visible_error("secret.secretAccessKey"))
        self.assertEqual(self.css("#d-s3-secret").get_attribute("aria-invalid"), "true")
        self.assertEqual(self.driver.switch_to.active_element.get_attribute("id"), "d-s3-secret")
        described = self.css("#d-s3-secret").get_attribute("aria-describedby") or ""
        self.assertIn(self.css('[data-error-for="secret.secretAccessKey"]').get_attribute("id"), described.split())
        self.assertTrue(self.css('button[type="submit"]').is_enabled())
        self.assert_nothing_sent()

        # Next try: the secret is there, the confirmation differs. The old error goes away.
        self.fill("#d-s3-secret", "s3cr3t")
        self.fill("#d-vault-confirm", PASSPHRASE + "!")
        self.submit()
        self.wait(lambda: self.visible_error("vault") != "", "no error at the passphrase")
        self.assertEqual(self.visible_error("secret.secretAccessKey"), "")
        self.assertIsNone(self.css("#d-s3-secret").get_attribute("aria-invalid"))
        self.assertEqual(self.css("#d-vault-confirm").get_attribute("aria-invalid"), "true")
        self.assert_nothing_sent()

        # A short passphrase for a new vault.
        self.fill("#d-vault", "short")
        self.fill("#d-vault-confirm", "short")
        self.submit()
        self.wait(lambda: "at least 12" in self.visible_error("vault"), "no error for a short passphrase")
        self.assert_nothing_sent()

    def test_api_error_on_settings_bucket_shows_next_to_it(self) -> None:
        self.prepare_vault()
        self.hub.fail("POST", "/api/v1/destinations", 400, {"error": {"code": "invalid", "message": "bucket names have 3 to 63 characters", "field": "settings.bucket"}})
        self.open("/fixtures/destination-form.html")
        self.choose_kind("s3")
        self.fill_s3(bucket="x")
        self.fill("#d-vault", PASSPHRASE)
        self.submit()
        self.wait(lambda: self.visible_error("settings.bucket") != "", "no error next to the bucket")
        self.assertEqual(self.visible_error("settings.bucket"), "bucket names have 3 to 63 characters")
        self.assertEqual(self.css("#d-s3-bucket").get_attribute("aria-invalid"), "true")
        self.assertIsNone(self.css("#d-b2-bucket").get_attribute("aria-invalid"))
        self.assertFalse(self.css("[data-vault-new]").is_displayed())  # the vault exists: no confirmation field
        button = self.css('button[type="submit"]')
        self.assertTrue(button.is_enabled())
        self.assertEqual(button.text, "Add destination")
        self.assertEqual([c for c in self.api_calls() if c[0] != "GET"], [("POST", "/api/v1/destinations")])
        self.assertEqual(self.css("#d-s3-secret").get_attribute("value"), "s3cr3t/KEY+value")  # kept to try again

        # Fixed, it goes through with the same vault.
        self.fill("#d-s3-bucket", "backups")
        self.submit()
        self.wait(lambda: self.driver.current_url.endswith("/backups/destinations/dst_1"), "no redirect after the fix")

    def test_wrong_passphrase_shows_at_vault(self) -> None:
        self.prepare_vault()
        self.open("/fixtures/destination-form.html")
        self.choose_kind("s3")
        self.fill_s3()
        self.fill("#d-vault", "not the passphrase at all")
        self.submit()
        self.wait(lambda: "passphrase is wrong" in self.visible_error("vault"), "no wrong-passphrase error", timeout=60)
        self.assertEqual(self.css("#d-vault").get_attribute("aria-invalid"), "true")
        self.assert_nothing_sent()

    def test_peer_sends_a_peer_login(self) -> None:
        made = self.prepare_vault()
        self.open("/fixtures/destination-form.html")
        self.choose_kind("peer")
        Select(self.css("#d-peer-server")).select_by_value("srv_3")
        self.wait(lambda: not self.css('[data-attach][value="srv_3"]').is_enabled(), "the storage server should not be a source")
        self.assertTrue(self.css('[data-attach][value="srv_1"]').is_enabled())
        self.fill("#d-name", "peer")
        self.fill("#d-peer-address", "storage-1.example.com:8443")
        self.fill("#d-vault", PASSPHRASE)
        self.css('[data-attach][value="srv_2"]').click()
        self.submit()
        self.wait(lambda: self.driver.current_url.endswith("/backups/destinations/dst_1"), "no redirect to the destination", timeout=60)
        self.assertEqual(
            self.hub.api_requests("POST", "/api/v1/destinations")[0]["json"],
            {"name": "peer", "kind": "peer", "settings": {"peerServerID": "srv_3", "peerAddress": "storage-1.example.com:8443"}},
        )
        envelope = self.hub.envelopes[("dst_1", "srv_2")]
        self.assertEqual(set(envelope), {"keyID", "version", "ciphertext", "peerLogin"})
        match = re.fullmatch(r"srv_2:\{SHA\}([A-Za-z0-9+/=]{28})", envelope["peerLogin"])
        self.assertIsNotNone(match, envelope["peerLogin"])
        record = self.hub.destinations["dst_1"]["credentialKey"]
        opened = self.open_envelope("dst_1", "srv_2", envelope["ciphertext"], record, made["vault"])
        self.assertEqual(set(opened["credential"]), {"repositoryPassword"})
        secrets = opened["serverSecrets"]
        self.assertEqual(secrets["restUser"], "srv_2")
        self.assertEqual(base64.b64encode(hashlib.sha1(secrets["restPassword"].encode()).digest()).decode(), match[1])
        self.assertEqual([k for k in self.hub.envelopes], [("dst_1", "srv_2")])

    def test_failed_key_record_takes_the_destination_back(self) -> None:
        self.prepare_vault()
        self.hub.fail("PATCH", r"/api/v1/destinations/dst_1", 400, {"error": {"code": "invalid", "message": "the key record is not well formed", "field": "credentialKey.wrappedKey"}})
        self.open("/fixtures/destination-form.html")
        self.choose_kind("s3")
        self.fill_s3()
        self.fill("#d-vault", PASSPHRASE)
        self.submit()
        self.wait(lambda: self.css("[data-form-error]").is_displayed(), "no form error")
        self.assertIn("not saved", self.css("[data-form-error]").text)
        self.assertIn(("DELETE", "/api/v1/destinations/dst_1"), self.api_calls())
        self.assertNotIn("dst_1", self.hub.destinations)
        self.assertTrue(self.css('button[type="submit"]').is_enabled())

    def test_failed_envelope_keeps_destination_and_clears_secrets(self) -> None:
        self.prepare_vault()
        self.hub.fail("PUT", r"/api/v1/destinations/dst_1/envelopes/srv_2", 409, {"error": {"code": "conflict", "message": "server web-2 has another key", "field": "keyID"}})
        self.open("/fixtures/destination-form.html")
        self.choose_kind("s3")
        self.fill_s3()
        self.fill("#d-vault", PASSPHRASE)
        self.css('[data-attach][value="srv_1"]').click()
        self.css('[data-attach][value="srv_2"]').click()
        self.submit()
        self.wait(lambda: self.css("[data-form-error]").is_displayed(), "no form error", timeout=60)
        text = self.css("[data-form-error]").text
        self.assertIn("web-2", text)
        self.assertIn("server web-2 has another key", text)
        self.assertEqual(self.css("[data-form-error] a").get_attribute("href"), f"{self.hub.url}/backups/destinations/dst_1")
        self.assertIn(("dst_1", "srv_1"), self.hub.envelopes)
        for selector in ("#d-s3-key", "#d-s3-secret", "#d-vault", "#d-repo-password"):
            self.assertEqual(self.css(selector).get_attribute("value"), "", selector)
        button = self.css('button[type="submit"]')
        self.assertFalse(button.is_enabled())
        self.assertEqual(button.text, "Saved")


class AttachFormTests(BrowserTestCase):
    def prepare_destination(self) -> dict:
        credential = {"repositoryPassword": "repo-pw", "accessKeyID": "AK", "secretAccessKey": "SK"}
        made = self.prepare_vault("dst_7", credential)
        self.hub.destinations["dst_7"] = {"id": "dst_7", "accountID": ACCOUNT, "name": "offsite", "kind": "s3", "settings": {"bucket": "b"}, "credentialKey": made["record"]}
        self.hub.tokens.update({"DESTINATION": "dst_7", "KIND": "s3"})
        return made

    def test_attach_seals_to_another_server(self) -> None:
        made = self.prepare_destination()
        self.open("/fixtures/attach-form.html")
        Select(self.css("#a-server")).select_by_value("srv_3")
        self.fill("#a-vault", PASSPHRASE)
        self.submit()
        self.wait(lambda: ("dst_7", "srv_3") in self.hub.envelopes, "no envelope stored", timeout=60)
        self.wait(lambda: self.driver.execute_script("return document.documentElement.dataset.app") == "ready"
                  and self.css("#a-vault").get_attribute("value") == "", "the page did not reload")
        self.assertEqual(
            self.api_calls(),
            [("GET", "/api/v1/vault"), ("GET", "/api/v1/destinations/dst_7"), ("PUT", "/api/v1/destinations/dst_7/envelopes/srv_3")],
        )
        envelope = self.hub.envelopes[("dst_7", "srv_3")]
        self.assertEqual(envelope["keyID"], KEYS["srv_3"].key_id)
        self.assertNotIn("peerLogin", envelope)
        opened = self.open_envelope("dst_7", "srv_3", envelope["ciphertext"], made["record"], made["vault"])
        self.assertEqual(opened["credential"], {"repositoryPassword": "repo-pw", "accessKeyID": "AK", "secretAccessKey": "SK"})
        self.assertEqual(opened["envelopeDDK"], opened["recordDDK"])

    def test_attach_peer_for_recovery_adds_a_login_as_the_lost_server(self) -> None:
        credential = {"repositoryPassword": "repo-pw"}
        made = self.prepare_vault("dst_8", credential)
        self.hub.destinations["dst_8"] = {"id": "dst_8", "accountID": ACCOUNT, "name": "vault-b", "kind": "peer",
                                          "settings": {"peerServerID": "srv_9", "peerAddress": "10.0.0.9:8443"}, "credentialKey": made["record"]}
        self.hub.tokens.update({"DESTINATION": "dst_8", "KIND": "peer"})
        self.open("/fixtures/attach-form.html")
        Select(self.css("#a-server")).select_by_value("srv_2")
        Select(self.css("#a-recover")).select_by_value("srv_1")
        self.fill("#a-vault", PASSPHRASE)
        self.submit()
        self.wait(lambda: ("dst_8", "srv_2") in self.hub.envelopes, "no envelope stored", timeout=60)
        envelope = self.hub.envelopes[("dst_8", "srv_2")]
        self.assertTrue(envelope["peerLogin"].startswith("srv_2:{SHA}"), envelope)
        self.assertTrue(envelope["recoveryLogin"].startswith("srv_1:{SHA}"), envelope)
        opened = self.open_envelope("dst_8", "srv_2", envelope["ciphertext"], made["record"], made["vault"])
        secrets = opened["serverSecrets"]
        self.assertEqual(secrets["restUser"], "srv_2")
        self.assertEqual(secrets["recoverUser"], "srv_1")
        digest = base64.b64encode(hashlib.sha1(secrets["recoverPassword"].encode()).digest()).decode()
        self.assertEqual(envelope["recoveryLogin"], "srv_1:{SHA}" + digest, "the hub gets only the hash of the password sealed to srv_2")

    def test_attach_wrong_passphrase(self) -> None:
        self.prepare_destination()
        self.open("/fixtures/attach-form.html")
        self.fill("#a-vault", "not the passphrase at all")
        self.submit()
        self.wait(lambda: "passphrase is wrong" in self.visible_error("vault"), "no wrong-passphrase error", timeout=60)
        self.assertEqual(self.css("#a-vault").get_attribute("aria-invalid"), "true")
        self.assertTrue(self.css('button[type="submit"]').is_enabled())
        self.assertEqual(self.css('button[type="submit"]').text, "Seal to this server")
        self.assertEqual(self.api_calls(), [("GET", "/api/v1/vault")])

    def test_attach_empty_passphrase_sends_nothing(self) -> None:
        self.prepare_destination()
        self.open("/fixtures/attach-form.html")
        self.submit()
        self.wait(lambda: self.visible_error("vault") != "", "no error at the passphrase")
        self.assertEqual(self.api_calls(), [])


MANIFEST_SCRIPT = r"""
const s = await import('/backups/static/js/sealing.js');
const key = await crypto.subtle.importKey("raw", s.base64Decode(args.accountKey), { name: "Ed25519" }, false, ["verify"]);
const body = s.base64Decode(args.manifest.body);
const context = new TextEncoder().encode("mzpanel-manifest/v1\n");
const message = new Uint8Array(context.length + body.length);
message.set(context, 0);
message.set(body, context.length);
const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, s.base64Decode(args.manifest.signature), message);
return { ok, document: JSON.parse(new TextDecoder().decode(body)) };
"""

VERIFY_SCRIPT = r"""
const s = await import('/backups/static/js/sealing.js');
return await s.verifyServerCertificate(args.certificate, args.account, args.server, args.publicKey, s.base64Decode(args.accountKey));
"""


class TrustFormTests(BrowserTestCase):
    def certificate_holds(self, vault: dict) -> bool:
        server = self.hub.servers["srv_2"]
        return self.js(VERIFY_SCRIPT, {"certificate": server.get("certificate"), "account": ACCOUNT, "server": "srv_2",
                                       "publicKey": server["publicKey"], "accountKey": vault["signingKey"]})

    def test_a_fingerprint_that_is_not_the_hubs_key_certifies_nothing(self) -> None:
        self.prepare_vault(certify=())
        self.open("/fixtures/trust-form.html")
        self.fill("#t-fingerprint", KEYS["srv_3"].key_id)
        self.fill("#t-vault", PASSPHRASE)
        self.submit()
        self.wait(lambda: "nothing was certified" in self.visible_error("fingerprint"), "no error at the fingerprint", timeout=60)
        self.assertIn(KEYS["srv_2"].key_id, self.visible_error("fingerprint"))
        self.assertEqual(self.css("#t-fingerprint").get_attribute("aria-invalid"), "true")
        self.assertNotIn("certificate", self.hub.servers["srv_2"])
        self.assertEqual([c for c in self.api_calls() if c[0] != "GET"], [])

    def test_the_typed_fingerprint_certifies_the_key_with_the_vaults_signing_key(self) -> None:
        made = self.prepare_vault(certify=())
        self.open("/fixtures/trust-form.html")
        self.fill("#t-fingerprint", " " + KEYS["srv_2"].key_id.upper().replace(":", " ") + " ")  # as people copy it
        self.fill("#t-vault", PASSPHRASE)
        self.submit()
        self.wait(lambda: self.hub.servers["srv_2"].get("certificate"), "no certificate stored", timeout=60)
        put = self.hub.api_requests("PUT", r"/api/v1/servers/srv_2/certificate")[0]["json"]
        self.assertEqual(put["keyFingerprint"], KEYS["srv_2"].key_id)
        self.assertNotIn(PASSPHRASE, str(self.hub.api_requests()))
        self.assertTrue(self.certificate_holds(made["vault"]))

    def test_an_older_vault_gets_its_signing_key_when_certifying(self) -> None:
        self.prepare_vault(certify=())
        older = {k: v for k, v in self.hub.vault.items() if k not in ("signing", "signingKey")}
        self.hub.vault = older
        self.open("/fixtures/trust-form.html")
        self.fill("#t-fingerprint", KEYS["srv_2"].key_id)
        self.fill("#t-vault", PASSPHRASE)
        self.submit()
        self.wait(lambda: self.hub.servers["srv_2"].get("certificate"), "no certificate stored", timeout=60)
        upgrade = self.hub.api_requests("PUT", "/api/v1/vault")[0]["json"]
        self.assertTrue(upgrade["replace"])
        self.assertEqual({k: v for k, v in upgrade["vault"].items() if k not in ("signing", "signingKey")}, older, "only the signing key is added")
        self.assertTrue(self.certificate_holds(upgrade["vault"]))


class SignFormTests(BrowserTestCase):
    JOB = {"id": "job_1", "accountID": ACCOUNT, "serverID": "srv_1", "name": "nightly", "kind": "full",
           "sources": {"paths": ["/srv/www"], "excludes": [], "databases": []}, "schedule": {"calendar": "*-*-* 02:30:00", "timeZone": "UTC"},
           "retention": {"keepDaily": 7, "keepAll": False}, "destinationIDs": ["dst_7"], "enabled": True,
           "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z", "manifestState": "unsigned"}

    def test_signing_a_job_signs_what_the_hub_holds_with_the_vaults_key(self) -> None:
        self.prepare_vault(certify=())
        self.hub.jobs["job_1"] = dict(self.JOB)
        self.open("/fixtures/sign-form.html")
        self.fill("#s-vault", PASSPHRASE)
        self.submit()
        self.wait(lambda: self.hub.jobs["job_1"].get("manifest"), "no manifest stored", timeout=60)
        signed = self.js(MANIFEST_SCRIPT, {"manifest": self.hub.jobs["job_1"]["manifest"], "accountKey": self.hub.vault["signingKey"]})
        self.assertTrue(signed["ok"])
        document = signed["document"]
        self.assertEqual(
            {k: document[k] for k in ("type", "accountID", "serverID", "jobID", "kind", "sources", "schedule", "retention", "destinationIDs")},
            {"type": "job", "accountID": ACCOUNT, "serverID": "srv_1", "jobID": "job_1", "kind": "full", "sources": self.JOB["sources"],
             "schedule": self.JOB["schedule"], "retention": self.JOB["retention"], "destinationIDs": ["dst_7"]})
        self.assertGreater(document["version"], 1_700_000_000_000, "versions count from the signer's clock")
        self.assertNotIn(PASSPHRASE, str(self.hub.api_requests()))

    def test_a_wrong_passphrase_signs_nothing(self) -> None:
        self.prepare_vault(certify=())
        self.hub.jobs["job_1"] = dict(self.JOB)
        self.open("/fixtures/sign-form.html")
        self.fill("#s-vault", "not the passphrase")
        self.submit()
        self.wait(lambda: self.visible_error("vault"), "no error at the passphrase", timeout=60)
        self.assertNotIn("manifest", self.hub.jobs["job_1"])
        self.assertEqual([c for c in self.api_calls() if c[0] != "GET"], [])


def main() -> int:
    suite = unittest.TestSuite()
    loader = unittest.defaultTestLoader
    for case in (DestinationFormTests, AttachFormTests, TrustFormTests, SignFormTests):
        suite.addTests(loader.loadTestsFromTestCase(case))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"browser: {result.testsRun - failed} passed, {failed} failed")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
