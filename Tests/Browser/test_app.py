#!/usr/bin/env python3
"""Browser tests of static/js/app.js (the behaviours every page gets, docs/web.md) in headless Chromium.

fixtures/app.html has one of each: a copy button, a confirmed form, a local time, a schedule
preview and a live run; the fake hub (fakehub.py) answers the preview and streams the run.

Run: python3 Tests/Browser/test_app.py (plain unittest; non-zero exit on failure).
"""

from __future__ import annotations

import sys
import time
import unittest
from pathlib import Path
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jsbridge  # noqa: E402

jsbridge.ensure_selenium()

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

from test_destination_form import BrowserTestCase  # noqa: E402


class AppTests(BrowserTestCase):
    def open_app(self, run: str = "run_idle") -> None:
        self.hub.tokens["RUN"] = run
        self.open("/fixtures/app.html")

    def previews(self) -> list[dict]:
        return self.hub.api_requests("POST", "/api/v1/schedules/preview")

    def test_copy_puts_the_text_on_the_clipboard(self) -> None:
        self.driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": self.hub.url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        self.open_app()
        self.css("#copy").click()
        self.wait(lambda: self.css("#copy").text == "Copied", "the button did not say Copied")
        self.wait(lambda: self.driver.execute_script("return document.querySelector('[data-announcer]')?.textContent") == "Copied", "nothing announced")
        text = self.js("return await navigator.clipboard.readText();")
        self.assertEqual(text, "curl -fsS https://hub.example.com/install | sh -s -- --token mzp_enroll_123")
        self.wait(lambda: self.css("#copy").text == "Copy", "the label did not come back", timeout=5)

    def test_confirm_asks_first(self) -> None:
        self.open_app()
        self.css("#delete").click()
        self.wait(lambda: self.driver.execute_script("return document.querySelector('dialog[data-confirm-dialog]')?.open") is True, "no dialog")
        # The dialog fades in (140 ms from opacity 0): its text is visible only once the animation ran.
        self.wait(lambda: "Delete job nightly?" in self.css("dialog[data-confirm-dialog]").text, "the dialog did not ask the form's question")
        self.assertEqual(self.driver.switch_to.active_element.text, "Cancel")
        self.css("[data-confirm-cancel]").click()
        self.assertFalse(self.driver.execute_script("return document.querySelector('dialog[data-confirm-dialog]').open"))
        self.assertEqual(self.driver.switch_to.active_element.get_attribute("id"), "delete")

        # Escape cancels too.
        self.css("#delete").send_keys(Keys.ENTER)
        self.wait(lambda: self.driver.execute_script("return document.querySelector('dialog[data-confirm-dialog]').open") is True, "no dialog")
        self.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
        self.wait(lambda: self.driver.execute_script("return document.querySelector('dialog[data-confirm-dialog]').open") is False, "Escape did not close it")
        time.sleep(0.3)
        self.assertEqual([r for r in self.hub.api_requests("POST") if r["path"].startswith("/backups/")], [])

        # Confirm (keyboard: Tab to it, Enter) posts the form, with the button's name=value.
        self.css("#delete").click()
        self.wait(lambda: self.driver.execute_script("return document.querySelector('dialog[data-confirm-dialog]').open") is True, "no dialog")
        self.assertIn("danger", self.css("[data-confirm-accept]").get_attribute("class"))
        self.driver.switch_to.active_element.send_keys(Keys.TAB)
        self.driver.switch_to.active_element.send_keys(Keys.ENTER)
        self.wait(lambda: self.hub.api_requests("POST", "/backups/jobs/job_1/delete"), "the form was not posted")
        posted = self.hub.api_requests("POST", "/backups/jobs/job_1/delete")
        self.assertEqual(len(posted), 1)
        self.assertEqual(parse_qs(posted[0]["body"]), {"csrf": ["tok"], "really": ["yes"]})

    def test_local_time(self) -> None:
        self.open_app()
        when = self.css("#when")
        self.assertEqual(when.get_attribute("title"), "2025-03-01T12:00:00Z")
        self.assertNotEqual(when.text, "2025-03-01 12:00 UTC")
        self.assertIn("2025", when.text)

    def test_schedule_preview(self) -> None:
        self.open_app()
        self.wait(lambda: len(self.driver.find_elements(By.CSS_SELECTOR, "[data-preview-output] li")) == 5, "no preview on load")
        first = self.previews()[0]
        self.assertEqual(first["json"], {"schedule": "daily 02:30", "timeZone": "Europe/Berlin", "count": 5})
        self.assertEqual(first["headers"].get("X-MZPanel-Request"), "1")
        items = [li.text for li in self.driver.find_elements(By.CSS_SELECTOR, "[data-preview-output] li")]
        self.assertIn("02:30", items[0])  # 01:30 UTC is 02:30 in Berlin in March
        self.assertEqual(self.css("[data-preview-oncalendar]").text, "*-*-* 02:30:00 Europe/Berlin")

        # Typing is debounced: one request for the whole word.
        before = len(self.previews())
        field = self.css("#schedule")
        field.clear()
        field.send_keys("bad")
        self.wait(lambda: self.css("[data-preview-error]").is_displayed(), "no error shown")
        time.sleep(0.5)
        self.assertEqual(len(self.previews()) - before, 1)  # one for "bad" (an empty field asks nothing)
        self.assertIn("is not a schedule", self.css("[data-preview-error]").text)
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "[data-preview-output] li"), [])
        self.assertEqual(field.get_attribute("aria-invalid"), "true")
        self.assertFalse(self.css("[data-preview-oncalendar]").is_displayed())

        # A wrong zone marks the zone; a right one clears it all.
        field.clear()
        field.send_keys("hourly")
        Select(self.css("#zone")).select_by_value("Mars/Olympus")
        self.wait(lambda: self.css("#zone").get_attribute("aria-invalid") == "true", "the zone is not marked")
        self.assertIsNone(field.get_attribute("aria-invalid"))
        Select(self.css("#zone")).select_by_value("UTC")
        self.wait(lambda: len(self.driver.find_elements(By.CSS_SELECTOR, "[data-preview-output] li")) == 5, "no preview after the fix")
        self.assertFalse(self.css("[data-preview-error]").is_displayed())
        self.assertIsNone(self.css("#zone").get_attribute("aria-invalid"))
        self.assertIn("01:30", self.css("[data-preview-output] li").text)

    def test_run_update_formatting(self) -> None:
        self.open_app()
        result = self.js(
            r"""
            const app = await import('/backups/static/js/app.js');
            const section = document.querySelector('[data-live-run]');
            const read = () => Object.fromEntries(['percent', 'files', 'bytes', 'throughput', 'eta']
              .map((k) => [k, section.querySelector(`[data-progress-${k}]`).textContent]));
            const out = [];
            app.applyRunUpdate(section, {status: 'running', finished: false, progress: {percentDone: 0.4237, filesDone: 1234, totalFiles: 5000,
              bytesDone: 1288490189, totalBytes: 3650722201, secondsElapsed: 100, secondsRemaining: 125, phase: 'backup'}});
            out.push({...read(), bar: section.querySelector('progress').value, status: section.querySelector('[data-run-status]').className});
            app.applyRunUpdate(section, {status: 'running', finished: false, progress: null});
            out.push(read());
            app.applyRunUpdate(section, {status: 'succeeded', finished: true, progress: {percentDone: 0.99, filesDone: 5000, totalFiles: 5000,
              bytesDone: 3650722201, totalBytes: 3650722201, secondsElapsed: 200, secondsRemaining: null}});
            out.push({...read(), bar: section.querySelector('progress').value, status: section.querySelector('[data-run-status]').className,
              text: section.querySelector('[data-run-status]').textContent});
            out.push([app.formatBytes(0), app.formatBytes(1023), app.formatBytes(1048575), app.formatDuration(45), app.formatDuration(3725), app.formatDuration(null)]);
            return out;
            """
        )
        self.assertEqual(result[0], {"percent": "42 %", "files": "1,234 of 5,000", "bytes": "1.2 GiB of 3.4 GiB", "throughput": "12.3 MiB/s", "eta": "2 min 5 s", "bar": 42.4, "status": "badge running"})
        self.assertEqual(result[1], {k: result[0][k] for k in ("percent", "files", "bytes", "throughput", "eta")})  # no progress: unchanged
        self.assertEqual(result[2]["bar"], 100)
        self.assertEqual(result[2]["percent"], "100 %")
        self.assertEqual(result[2]["eta"], "—")
        self.assertEqual((result[2]["status"], result[2]["text"]), ("badge succeeded", "succeeded"))
        self.assertEqual(result[3], ["0 B", "1023 B", "1.0 MiB", "45 s", "1 h 2 min", "—"])

    def test_live_run_follows_events_and_reloads(self) -> None:
        progress = {"filesDone": 10, "totalFiles": 40, "bytesDone": 1024, "totalBytes": 4096, "secondsElapsed": 1, "secondsRemaining": 3}
        self.hub.run_events["run_1"] = [
            {"status": "running", "finished": False, "progress": {**progress, "percentDone": 0.25}},
            {"status": "running", "finished": False, "progress": {**progress, "percentDone": 0.5}},
            {"status": "failed", "finished": True, "progress": None},
        ]
        self.open_app("run_1")
        self.driver.execute_script("window.__beforeReload = true;")
        self.wait(lambda: self.css("[data-run-status]").text == "failed", "the final status did not show")
        self.assertEqual(self.css("[data-run-status]").get_attribute("class"), "badge failed")
        self.assertEqual(self.css("[data-progress-percent]").text, "50 %")
        self.wait(lambda: self.driver.execute_script("return window.__beforeReload") is None, "the page did not reload", timeout=10)
        self.assertTrue(any(r["path"] == "/backups/runs/run_1/events" for r in self.hub.api_requests("GET")))


def main() -> int:
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(AppTests)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"browser: {result.testsRun - failed} passed, {failed} failed")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
