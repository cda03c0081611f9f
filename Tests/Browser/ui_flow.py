#!/usr/bin/env python3
"""Drives the web hub (/backups) in headless Chromium the way a user does, for the Swift
end-to-end tests (Tests/EndToEndTests/WebUIEndToEndTests.swift), which start the hub and agents
and check the results on their side.

    python3 Tests/Browser/ui_flow.py < request.json

request.json: {"scenario": "local" | "gated" | "offsite" | "twofactor" | "invite" | "sso", "url": "http://127.0.0.1:PORT",
"email", "password", "screenshots": "DIR", ...scenario fields}. Secrets come on stdin, never argv.
Prints one JSON object with what the browser saw; exit 1 with the error on stderr if a step fails
(a screenshot of the failing page is saved as `failure.png`).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jsbridge  # noqa: E402  (re-executes with the tests' virtualenv when selenium is missing)

jsbridge.ensure_selenium()

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


class Flow:
    def __init__(self, request: dict) -> None:
        self.request = request
        self.url = request["url"].rstrip("/")
        self.shots = Path(request["screenshots"])
        self.shots.mkdir(parents=True, exist_ok=True)
        self.saved: list[str] = []
        options = webdriver.ChromeOptions()
        options.binary_location = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                         "--window-size=1280,1000", "--disable-background-networking", "--disable-component-update"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
        self.wait = WebDriverWait(self.driver, 60)

    def shot(self, name: str) -> None:
        path = self.shots / f"{len(self.saved) + 1:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        self.saved.append(str(path))

    def go(self, path: str) -> None:
        self.driver.get(self.url + path)

    def find(self, css: str):
        return self.wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))

    def type(self, css: str, text: str) -> None:
        element = self.find(css)
        element.clear()
        element.send_keys(text)

    def path(self) -> str:
        return self.driver.current_url[len(self.url):]

    def wait_path(self, prefix: str) -> str:
        self.wait.until(lambda d: d.current_url[len(self.url):].startswith(prefix))
        return self.path()

    def console_errors(self) -> list[str]:
        try:
            # Script errors only: a 404 the page expects (GET /api/v1/vault before the first vault) is logged too.
            return [entry["message"] for entry in self.driver.get_log("browser")
                    if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]]
        except Exception:  # noqa: BLE001 - logs are a diagnostic extra
            return []

    # Steps -------------------------------------------------------------------------------

    def login(self) -> None:
        self.go("/backups")
        self.wait_path("/backups/login")
        self.type("#email", self.request["email"])
        self.type("#password", self.request["password"])
        self.shot("login")
        self.find("#login-form button[type=submit]").click()
        self.wait.until(lambda d: d.current_url.rstrip("/").endswith("/backups"))
        self.shot("hub")

    def choose_kind(self, kind: str) -> None:
        self.find(f"input[name=kind][value={kind}]").click()
        self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f"fieldset[data-kind={kind}]").is_displayed())

    def add_local_destination(self, name: str, path: str) -> str:
        self.go("/backups/destinations/new")
        self.type("#d-name", name)
        self.choose_kind("local")
        self.type("#d-path", path)
        self.shot("destination-form")
        self.find("#destination-form button[type=submit]").click()
        return self.wait_path("/backups/destinations/dst_").split("/")[-1]

    def add_job(self, name: str, server_id: str, path: str, destinations: list[str]) -> tuple[str, list[str]]:
        self.go(f"/backups/jobs/new?server={server_id}")
        self.type("#job-name", name)
        self.type("#job-paths", path)
        self.type("#job-schedule", "daily 02:30")
        self.type("#job-tz", "Europe/Berlin")
        # The preview follows the typing: wait for the typed schedule in the typed zone.
        self.wait.until(lambda d: [item.text for item in d.find_elements(By.CSS_SELECTOR, "[data-preview-output] li")][:1] != []
                        and all("2:30" in item.text for item in d.find_elements(By.CSS_SELECTOR, "[data-preview-output] li"))
                        and len(d.find_elements(By.CSS_SELECTOR, "[data-preview-output] li")) == 5)
        preview = [item.text for item in self.driver.find_elements(By.CSS_SELECTOR, "[data-preview-output] li")]
        for destination in destinations:
            box = self.find(f"input[name=destinations][value={destination}]")
            if not box.is_selected():
                box.click()
        self.shot("job-form-preview")
        self.find("#job-form button[type=submit]").click()
        job = self.wait_path("/backups/jobs/job_").split("/")[-1].split("?")[0]
        self.shot("job")
        return job, preview

    def run_now(self) -> dict:
        self.find("#run-now").click()
        self.wait_path("/backups/runs/run_")
        seen = 0
        deadline = time.time() + 120
        shot_live = False
        while time.time() < deadline:
            bars = self.driver.find_elements(By.CSS_SELECTOR, "[data-progress-bar]")
            if bars:
                try:
                    seen = max(seen, int(float(bars[0].get_attribute("value") or 0)))
                    if not shot_live:
                        self.shot("run-live")
                        shot_live = True
                except Exception:  # noqa: BLE001 - the page may reload between the two calls
                    pass
            if self.driver.find_elements(By.CSS_SELECTOR, "table[data-results]"):
                break
            time.sleep(0.05)
        status = self.find("[data-run-status]").text
        self.shot("run-finished")
        return {"maxPercent": seen, "status": status, "runPath": self.path(),
                "results": [row.text for row in self.driver.find_elements(By.CSS_SELECTOR, "table[data-results] tbody tr")]}

    # Scenarios ---------------------------------------------------------------------------

    def local(self) -> dict:
        self.login()
        destination = self.add_local_destination("nas", self.request["destinationPath"])
        job, preview = self.add_job("site", self.request["serverID"], self.request["treePath"], [destination])
        run = self.run_now()
        self.go(f"/backups/servers/{self.request['serverID']}")
        server_row = self.find("li[data-job=site]").text
        server_snapshots = [row.get_attribute("data-snapshot") for row in self.driver.find_elements(By.CSS_SELECTOR, "tr[data-snapshot]")]
        self.shot("server")
        self.go("/backups")
        hub_row = self.find("article[data-server] li[data-job=site]").text
        self.shot("hub-after-run")
        self.go("/backups/snapshots")
        fleet_snapshots = [row.get_attribute("data-snapshot") for row in self.driver.find_elements(By.CSS_SELECTOR, "tr[data-snapshot]")]
        self.shot("snapshots")
        browse, restore = self.browse_and_restore(fleet_snapshots[0]) if fleet_snapshots else ([], {})
        return {"destinationID": destination, "jobID": job, "preview": preview, **run, "serverJobRow": server_row, "hubJobRow": hub_row,
                "serverSnapshots": server_snapshots, "fleetSnapshots": fleet_snapshots, "browseEntries": browse, "restore": restore}

    def browse_and_restore(self, snapshot: str) -> tuple[list[str], dict]:
        """Opens the snapshot from the fleet list, waits for its listing, shows the job's folder,
        then restores that folder below another directory and follows the restore run."""
        self.find(f"tr[data-snapshot='{snapshot}'] a").click()
        self.wait_path(f"/backups/snapshots/{snapshot}")
        deadline = time.time() + 60
        while time.time() < deadline and not self.driver.find_elements(By.CSS_SELECTOR, "table[data-tree]"):
            time.sleep(0.3)  # the page reloads itself while the server lists the snapshot
        self.go(f"/backups/snapshots/{snapshot}?path={urllib.parse.quote(self.request['treePath'])}")
        entries = [row.get_attribute("data-entry") for row in self.driver.find_elements(By.CSS_SELECTOR, "tr[data-entry]")]
        self.shot("snapshot-browse")
        status = self.submit_restore(self.request["restorePath"], "restore-finished")
        return entries, {"status": status, "runPath": self.path()}

    def submit_restore(self, target: str, shot: str) -> str:
        """Sends the snapshot page's restore form to `target` and waits for the run's results."""
        self.type("#restore-target", target)
        self.find("#restore-submit").click()
        self.wait_path("/backups/runs/run_")
        # A restore onto another server (or over existing data) waits for the account's signature.
        if self.driver.find_elements(By.CSS_SELECTOR, "form[data-sign-kind=restore]"):
            self.signed_restore = self.find("[data-restore-summary]").text
            self.shot(shot + "-sign")
            self.type("#s-vault", self.request["passphrase"])
            self.find("#sign-form button[type=submit]").click()
            self.wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "form[data-sign-kind=restore]"))
        deadline = time.time() + 120
        while time.time() < deadline and not self.driver.find_elements(By.CSS_SELECTOR, "table[data-results]"):
            time.sleep(0.1)
        status = self.find("[data-run-status]").text
        self.shot(shot)
        return status

    def stacks(self) -> dict:
        """The server page's Stacks section (what the server's agent reported), then a stack
        snapshot's page: its stack as services with volumes and databases, and the stack restore form."""
        self.login()
        self.go(f"/backups/servers/{self.request['serverID']}")
        section = self.find("section[data-stacks]")
        self.driver.execute_script("arguments[0].scrollIntoView()", section)
        stack = self.find("article[data-stack]")
        services = [row.text for row in stack.find_elements(By.CSS_SELECTOR, "tr[data-service]")]
        volumes = [row.get_attribute("data-volume") for row in stack.find_elements(By.CSS_SELECTOR, "tr[data-volume]")]
        protect = stack.find_element(By.LINK_TEXT, "Protect this stack").get_attribute("href")
        project = stack.get_attribute("data-stack")
        self.shot("server-stacks")
        self.go(f"/backups/snapshots/{self.request['snapshotID']}")
        # The page reloads itself while the server lists the snapshot: read it in one script, atomically,
        # once the whole page (up to the stack restore form) is there.
        seen = None
        deadline = time.time() + 30
        while seen is None and time.time() < deadline:
            seen = self.driver.execute_script("""
            const all = (css) => Array.from(document.querySelectorAll(css));
            if (!document.querySelector('#stack-restore-submit')) return null;
            document.querySelector('#stack-contents').scrollIntoView();
            return {tree: all('#stack-contents li[data-service]').map((item) => item.textContent.replace(/\\s+/g, ' ').trim()),
                    formVolumes: all('#stack-restore-form input[name=volume]').map((box) => box.value),
                    formDatabases: all('#stack-restore-form input[name=stackDatabase]').map((box) => box.value),
                    formServers: all('#stack-server option').map((option) => option.textContent)};""")
            if seen is None:
                time.sleep(0.1)
        self.shot("snapshot-stack")
        seen = seen or {}
        return {"project": project, "services": services, "volumes": volumes, "protect": protect, **seen}

    def gated(self) -> dict:
        self.login()
        self.go("/backups/destinations/new")
        kinds = {box.get_attribute("value"): box.is_enabled() for box in self.driver.find_elements(By.CSS_SELECTOR, "input[name=kind]")}
        note = self.find(".gate-note").text
        self.shot("destination-gated")
        return {"kinds": kinds, "gateNote": note, **self.alerts(), "tokens": self.tokens()}

    def tokens(self) -> dict:
        """The account page: a metrics token with a lifetime, its secret shown once, listed with its scope, then revoked."""
        self.go("/backups/account")
        self.type("#token-name", "prometheus")
        Select(self.find("#token-scope")).select_by_value("metrics")
        Select(self.find("#token-expires")).select_by_value("90d")
        self.find("#new-token-form button[type=submit]").click()
        secret = self.find("#new-token").text
        rows = self.driver.execute_script(
            "return Object.fromEntries([...document.querySelectorAll('#tokens tr[data-token]')]"
            ".map(r => [r.querySelector('td').textContent.trim(), r.querySelector('.badge').textContent.trim()]))")
        self.shot("token-created")
        self.go("/backups/account")
        shown_again = secret in self.driver.page_source
        row = self.find("#tokens tr[data-token] td")
        for candidate in self.driver.find_elements(By.CSS_SELECTOR, "#tokens tr[data-token]"):
            if candidate.find_element(By.CSS_SELECTOR, "td").text == "prometheus":
                row = candidate
        row.find_element(By.CSS_SELECTOR, "form[action$='/revoke'] button").click()
        self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "dialog[data-confirm-dialog]").get_attribute("open") is not None)
        self.find("[data-confirm-accept]").click()
        # The revoke reloads the page: rows read meanwhile may belong to the old one (read again).
        self.wait.until(lambda d: "prometheus" not in self.token_names(), "the revoked token is still listed")
        after = self.token_names()
        self.shot("token-revoked")
        return {"secret": secret, "scopes": rows, "shownAgain": shown_again, "afterRevoke": after}

    def token_names(self) -> list[str]:
        """The names in the tokens table, read in one script so a reload cannot leave a stale row."""
        return self.driver.execute_script(
            "return [...document.querySelectorAll('#tokens tr[data-token]')].map(r => r.querySelector('td').textContent.trim())")

    def alerts(self) -> dict:
        """Adds a webhook channel on the alerts page, reads its secret once, sends it a test."""
        self.go("/backups/notifications")
        self.type("#c-name", "ops")
        self.type("#c-url", "http://127.0.0.1:9/hook")
        self.find("#channel-submit").click()
        secret = self.find("#secret-value").text
        channels = [row.get_attribute("data-channel") for row in self.driver.find_elements(By.CSS_SELECTOR, "tr[data-channel]")]
        self.shot("alerts-added")
        self.find("tr[data-channel=ops] form[action$='/test'] button").click()
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "table[data-deliveries] tbody tr"))
        deliveries = [row.text for row in self.driver.find_elements(By.CSS_SELECTOR, "table[data-deliveries] tbody tr")]
        self.shot("alerts-tested")
        return {"secret": secret, "channels": channels, "deliveries": deliveries}

    # Two-factor sign-in ------------------------------------------------------------------

    @staticmethod
    def totp(secret: str, at: float | None = None) -> tuple[str, int]:
        """RFC 6238 (HMAC-SHA1, 30 s, 6 digits), computed here as an authenticator app would: (code, step)."""
        import base64
        import hashlib
        import hmac
        import struct
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        step = int((time.time() if at is None else at) // 30)
        mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
        offset = mac[-1] & 0x0F
        value = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
        return f"{value:06d}", step

    def login_with_code(self, code: str) -> bool:
        """Logs in with email and password; when the page asks for the code, types the password again with `code`."""
        self.go("/backups/login")
        self.type("#email", self.request["email"])
        self.type("#password", self.request["password"])
        self.find("#login-form button[type=submit]").click()
        self.find("#code")  # the form asks for the code
        self.shot("login-asks-code")
        self.type("#password", self.request["password"])
        self.type("#code", code)
        self.find("#login-form button[type=submit]").click()
        self.wait.until(lambda d: d.current_url.rstrip("/").endswith("/backups") or d.find_elements(By.CSS_SELECTOR, "#login-error"))
        return self.driver.current_url.rstrip("/").endswith("/backups")

    def logout(self) -> None:
        self.go("/backups/account")
        self.find("form[action='/backups/logout'] button").click()
        self.wait_path("/backups/login")

    def twofactor(self) -> dict:
        """Enrols TOTP on the account page (secret read from the page, code computed here), then signs in with a code
        (waiting for a fresh 30-second step: a code works once) and with a recovery code."""
        self.login()
        self.go("/backups/account")
        self.find("#two-factor-begin").click()
        secret = self.find("#totp-secret").text.strip()
        uri = self.find("#totp-uri").text.strip()
        qr = self.driver.execute_script(
            "const s = document.querySelector('#totp-qr svg'); return s ? s.getBoundingClientRect().width : 0")
        self.shot("two-factor-setup")
        code, used = self.totp(secret)
        self.type("#totp-code", code)
        self.find("#two-factor-confirm button[type=submit]").click()
        recovery = [line.strip() for line in self.find("#recovery-codes").text.splitlines() if line.strip()]
        state = self.find("#two-factor-state").text if self.driver.find_elements(By.CSS_SELECTOR, "#two-factor-state") else ""
        self.shot("two-factor-on")
        self.go("/backups/account")
        state = self.find("#two-factor-state").text
        self.logout()
        # The confirming code is spent: sign in with the next step's code.
        while self.totp(secret)[1] <= used:
            time.sleep(1)
        fresh, _ = self.totp(secret)
        wrong_first = not self.login_with_code("000000") if fresh != "000000" else True
        signed_in = self.login_with_code(fresh)
        self.shot("signed-in-with-code")
        self.logout()
        reused = self.login_with_code(fresh)
        reused_error = self.find("#login-error").text if not reused else ""
        with_recovery = self.login_with_code(recovery[0])
        self.shot("signed-in-with-recovery-code")
        return {"secret": secret, "uri": uri, "qrWidth": qr, "recoveryCodes": recovery, "state": state, "wrongRefused": wrong_first,
                "signedInWithCode": signed_in, "reusedRefused": not reused, "reusedError": reused_error,
                "signedInWithRecoveryCode": with_recovery}

    def invite(self) -> dict:
        """The owner invites a member on the account page; the invitee opens the one-time link, sets a password, is signed
        in as an operator; the link does not work twice."""
        self.login()
        self.go("/backups/account")
        self.type("#invite-email", self.request["invitee"])
        Select(self.find("#invite-role")).select_by_value("operator")
        self.find("#invite-form button[type=submit]").click()
        link = self.find("#new-invitation").text.strip()
        waiting = [row.text for row in self.driver.find_elements(By.CSS_SELECTOR, "#invitations li")]
        self.shot("invitation-created")
        self.logout()
        path = link[link.index("/backups/join"):]
        self.go(path)
        invited_as = self.find("#join-role").text
        self.type("#password", self.request["inviteePassword"])
        self.type("#confirm", self.request["inviteePassword"])
        self.shot("join")
        self.find("#join-form button[type=submit]").click()
        self.wait.until(lambda d: d.current_url.rstrip("/").endswith("/backups"))
        self.go("/backups/account")
        role = self.find("#my-role").text
        members = self.driver.execute_script(
            "return [...document.querySelectorAll('#members tr[data-member]')].map(r => r.querySelector('td').textContent.trim())")
        manage = bool(self.driver.find_elements(By.CSS_SELECTOR, "#invite-form"))
        self.shot("member-account")
        self.logout()
        self.go(path)
        reused = self.find("#join-error").text
        return {"link": link, "waiting": waiting, "invitedAs": invited_as, "role": role, "members": members,
                "memberCanInvite": manage, "reused": reused}

    # Single sign-on ----------------------------------------------------------------------

    def sso_sign_in(self, email: str, shot: str) -> bool:
        """Signs in from the login page's SSO form: the hub sends the browser to the provider, whose page (the email
        filled in from login_hint) signs the person in; the hub's callback page continues to the hub."""
        self.go("/backups/login")
        self.type("#sso-email", email)
        self.find("#sso-form button[type=submit]").click()
        self.find("#provider-form")
        hinted = self.find("#provider-email").get_attribute("value")
        self.shot(shot + "-provider")
        self.find("#provider-sign-in").click()
        self.wait.until(lambda d: d.current_url.startswith(self.url) and (
            d.current_url.rstrip("/").endswith("/backups") or d.find_elements(By.CSS_SELECTOR, "#sso-error")))
        self.shot(shot)
        return hinted == email and self.driver.current_url.rstrip("/").endswith("/backups")

    def sso(self) -> dict:
        """The owner signs in with SSO (an existing member); then a new person of the account's domain joins through it."""
        owner = self.sso_sign_in(self.request["email"], "sso-owner")
        self.go("/backups/account")
        owner_role = self.find("#my-role").text
        sso_state = self.find("#sso-state").text
        self.logout()
        newcomer = self.sso_sign_in(self.request["newcomer"], "sso-newcomer")
        self.go("/backups/account")
        new_role = self.find("#my-role").text
        self.shot("sso-newcomer-account")
        self.logout()
        return {"ownerSignedIn": owner, "ownerRole": owner_role, "ssoState": sso_state, "newcomerSignedIn": newcomer, "newcomerRole": new_role}

    def offsite(self) -> dict:
        r = self.request
        self.login()
        self.go("/backups/destinations/new")
        self.type("#d-name", "cloud")
        self.choose_kind("s3")
        self.type("#d-endpoint", r["endpoint"])
        self.type("#d-bucket", r["bucket"])
        self.type("#d-key-id", r["accessKeyID"])
        self.type("#d-secret", r["secretAccessKey"])
        self.type("#d-repo-pw", r["repositoryPassword"])
        self.type("#d-vault", r["passphrase"])
        self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-vault-new]").is_displayed())
        self.type("#d-vault2", r["passphrase"])
        self.find(f"input[data-attach][value={r['firstServerID']}]").click()
        self.shot("offsite-form")
        self.find("#destination-form button[type=submit]").click()
        dialog = self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "dialog[data-recovery-dialog][open]"))
        # The dialog fades in from opacity 0: wait until its text is visible.
        recovery = self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-recovery-key]").text)
        self.shot("recovery-key")
        dialog.find_element(By.CSS_SELECTOR, "[data-recovery-ack]").click()
        # The new vault has certified no server yet: the destination is saved, nothing is sealed.
        error = self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-form-error]:not([hidden])"))
        refused = error.text
        self.shot("offsite-uncertified")
        error.find_element(By.CSS_SELECTOR, "a").click()
        destination = self.wait_path("/backups/destinations/dst_").split("/")[-1]
        self.trust(r["firstServerID"], r["firstFingerprint"])
        self.attach(destination, r["firstServerID"], r["firstServerName"])
        sealed_first = self.find("[data-sealed-to]").text
        self.shot("offsite-destination")
        job, _ = self.add_job("offsite", r["firstServerID"], r["treePath"], [destination])
        # The account has a vault, so servers run only signed jobs: the job page asks to sign it.
        unsigned = self.find("[data-manifest-state]").get_attribute("data-manifest-state")
        signature = self.sign()
        run = self.run_now()
        self.go("/backups/account")
        account_key = self.find("#account-key").text
        # Use the destination on the second server: it is certified, then only the vault passphrase is typed.
        self.trust(r["secondServerID"], r["secondFingerprint"])
        self.attach(destination, r["secondServerID"], r["secondServerName"])
        sealed_both = self.find("[data-sealed-to]").text
        self.shot("attached")
        recovered = self.recover(r["firstServerID"], r["secondServerID"], r["recoverPath"])
        return {"destinationID": destination, "jobID": job, "recoveryKey": recovery, "sealedFirst": sealed_first, "sealedBoth": sealed_both, **run,
                "recover": recovered, "refused": refused, "unsignedJob": unsigned, "jobSignature": signature,
                "accountKey": account_key}

    def sign(self) -> str:
        """Signs the job or destination of the current page with the vault passphrase; answers the new state."""
        self.type("#s-vault", self.request["passphrase"])
        self.shot("sign-form")
        self.find("#sign-form button[type=submit]").click()
        self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-manifest-state]").get_attribute("data-manifest-state") == "signed")
        return self.find("[data-manifest-state]").get_attribute("data-manifest-state")

    def trust(self, server: str, fingerprint: str) -> None:
        """Certifies a server's key on its page with the fingerprint read on the box."""
        self.go(f"/backups/servers/{server}")
        self.type("#t-fingerprint", fingerprint)
        self.type("#t-vault", self.request["passphrase"])
        self.shot("trust-form")
        self.find("#trust-form button[type=submit]").click()
        self.wait.until(lambda d: "Certified" in d.find_element(By.CSS_SELECTOR, "[data-trust-state]").text)

    def attach(self, destination: str, server: str, name: str) -> None:
        """Seals the destination to one more server from its page: only the vault passphrase is typed."""
        self.go(f"/backups/destinations/{destination}")
        Select(self.find("#a-server")).select_by_value(server)
        self.type("#a-vault", self.request["passphrase"])
        self.shot("attach-form")
        self.find("#attach-form button[type=submit]").click()
        self.wait.until(lambda d: name in d.find_element(By.CSS_SELECTOR, "[data-sealed-to]").text)

    def recover(self, lost: str, new: str, target: str) -> dict:
        """The guided recovery: the lost server's offsite snapshots, one opened, restored onto the new server."""
        self.go("/backups/recover")
        Select(self.find("#lost")).select_by_value(lost)
        self.find("form[aria-label='The lost server'] button[type=submit]").click()
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#recover-steps"))
        steps = self.find("#recover-steps").text
        snapshots = [row.get_attribute("data-snapshot") for row in self.driver.find_elements(By.CSS_SELECTOR, "table[data-recover-snapshots] tr[data-snapshot]")]
        self.shot("recover")
        self.find("table[data-recover-snapshots] tr[data-snapshot] td a").click()
        self.wait_path("/backups/snapshots/snp_")
        Select(self.find("#restore-server")).select_by_value(new)
        status = self.submit_restore(target, "recover-restored")
        return {"steps": steps, "snapshots": snapshots, "status": status, "signedRestore": getattr(self, "signed_restore", "")}


def main() -> int:
    request = json.load(sys.stdin)
    flow = Flow(request)
    try:
        result = getattr(flow, request["scenario"])()
        result["screenshots"] = flow.saved
        result["consoleErrors"] = flow.console_errors()
        print(json.dumps(result))
        return 0
    except Exception as error:  # noqa: BLE001 - reported to the Swift test with the page state
        try:
            flow.driver.save_screenshot(str(flow.shots / "failure.png"))
            print(f"{type(error).__name__}: {error}\nat {flow.driver.current_url}\nconsole: {flow.console_errors()}\n"
                  f"page: {flow.driver.find_element(By.TAG_NAME, 'main').text[:1500]}", file=sys.stderr)
        except Exception:  # noqa: BLE001
            print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        flow.driver.quit()


if __name__ == "__main__":
    sys.exit(main())
