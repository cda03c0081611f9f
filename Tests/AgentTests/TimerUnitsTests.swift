import BackupCore
import Foundation
import Testing

@testable import Agent

@Suite("Timer units")
struct TimerUnitsTests {
    static let analyze = ProgramLocator.find("systemd-analyze")
    static var verifiable: Bool { analyze != nil || Fixtures.isCI }

    @Test("timer and service content")
    func content() throws {
        let job = try Fixtures.job(id: "job_abcdefghijkmnpqrstuv", name: "nightly 100% site", schedule: "daily 02:30")
        let units = TimerUnits(
            directory: "/tmp/x", agentBinary: "/usr/local/bin/mzpanel-agent", stateDirectory: "/var/lib/mzpanel-agent",
            randomizedDelaySeconds: 120)
        let timer = units.timerContent(for: job)
        #expect(timer.contains("OnCalendar=*-*-* 02:30:00 UTC\n"))
        #expect(timer.contains("Persistent=true\n"))
        #expect(timer.contains("RandomizedDelaySec=120\n"))
        #expect(timer.contains("AccuracySec=1s\n"))
        #expect(timer.contains("Unit=mzpanel-job-job_abcdefghijkmnpqrstuv.service\n"))
        #expect(timer.contains("Description=Schedule of MZPanel backup job nightly 100%% site (job_abcdefghijkmnpqrstuv)"))
        #expect(timer.contains("WantedBy=timers.target"))
        let service = units.serviceContent(for: job)
        #expect(service.contains("Type=oneshot\n"))
        #expect(
            service.contains(
                "ExecStart=/usr/local/bin/mzpanel-agent run job_abcdefghijkmnpqrstuv --trigger timer --state-dir /var/lib/mzpanel-agent\n"))
        #expect(service.contains("Nice=10\n"))
        #expect(service.contains("IOSchedulingClass=idle\n"))
        #expect(service.contains("TimeoutStartSec=infinity\n"))
        #expect(!service.contains("PrivateTmp"))
        #expect(!service.contains("ProtectHome"))
    }

    @Test("ExecStart arguments with spaces, % and $ are quoted and escaped")
    func quoting() {
        #expect(TimerUnits.quoteArgument("/opt/my agent/bin") == "\"/opt/my agent/bin\"")
        #expect(TimerUnits.quoteArgument("/state/100%") == "/state/100%%")
        #expect(TimerUnits.quoteArgument("/a$b") == "/a$$b")
    }

    @Test("install writes enabled jobs, removes units of deleted or disabled jobs, leaves other files alone")
    func install() async throws {
        try await withTemporaryDirectory { root in
            let units = TimerUnits(directory: root, agentBinary: "/bin/true", stateDirectory: "/var/lib/mzpanel-agent")
            let a = try Fixtures.job(id: "job_a", schedule: "hourly")
            let b = try Fixtures.job(id: "job_b", schedule: "daily 02:30")
            try Data("keep".utf8).write(to: URL(fileURLWithPath: root + "/other.service"))
            let first = try units.install(jobs: [a, b])
            #expect(
                Set(first.written) == [
                    "mzpanel-job-job_a.timer", "mzpanel-job-job_a.service", "mzpanel-job-job_b.timer", "mzpanel-job-job_b.service",
                ])
            #expect(first.removed.isEmpty)
            #expect(try units.install(jobs: [a, b]).written.isEmpty, "unchanged units are not rewritten")

            var disabledB = b
            disabledB.enabled = false
            let second = try units.install(jobs: [disabledB])
            #expect(second.written.isEmpty)
            #expect(
                Set(second.removed) == [
                    "mzpanel-job-job_a.timer", "mzpanel-job-job_a.service", "mzpanel-job-job_b.timer", "mzpanel-job-job_b.service",
                ])
            units.deleteRemoved(second)
            #expect(SecureFile.list(root).sorted() == ["other.service"])
            #expect(SecureFile.mode(of: root + "/other.service") != nil)
        }
    }

    @Test("generated units pass systemd-analyze verify", .enabled(if: verifiable, "systemd-analyze is not installed (apt-get install systemd)"))
    func verify() async throws {
        let analyze = try #require(Self.analyze, "systemd-analyze is required on CI")
        try await withTemporaryDirectory { root in
            let units = TimerUnits(directory: root, agentBinary: "/bin/true", stateDirectory: "/var/lib/mzpanel agent")
            let jobs = [
                try Fixtures.job(id: "job_daily", name: "nightly", schedule: "daily 02:30"),
                try Fixtures.job(id: "job_zoned", name: "berlin 50%", schedule: "Mon..Fri *-*-* 02:30", retention: .standard),
                try Fixtures.job(id: "job_cron", name: "every 15 minutes", schedule: "*/15 * * * *"),
            ]
            var berlin = jobs[1]
            berlin.schedule = try Schedule.parse("Mon..Fri 02:30", timeZone: "Europe/Berlin")
            let changes = try units.install(jobs: [jobs[0], berlin, jobs[2]])
            let files = changes.written.map { root + "/" + $0 }
            #expect(files.count == 6)
            let result = try runProgram(
                analyze, ["verify", "--man=no"] + files, environment: ["SYSTEMD_LOG_LEVEL": "notice", "PATH": "/usr/bin:/bin"])
            #expect(result.status == 0, "systemd-analyze verify failed: \(result.output)")
            let relevant = result.output.split(separator: "\n").filter { $0.contains("mzpanel-job-") }
            #expect(relevant.isEmpty, "systemd-analyze complained: \(relevant.joined(separator: "\n"))")
        }
    }
}

@Suite("systemd control")
struct SystemdControlTests {
    @Test("with systemd: removed timers are disabled first, then reload, then written timers enabled and re-armed; nothing for no change")
    func sequence() async throws {
        try await withTemporaryDirectory { root in
            let units = TimerUnits(directory: root, agentBinary: "/bin/true", stateDirectory: "/var/lib/mzpanel-agent")
            let a = try Fixtures.job(id: "job_a")
            let b = try Fixtures.job(id: "job_b")
            var calls: [[String]] = []
            let record: ([String]) -> String? = {
                calls.append($0)
                return nil
            }
            _ = Systemd.apply(try units.install(jobs: [a, b]), units: units, systemdRunning: true, systemctl: record)
            #expect(
                calls == [
                    ["daemon-reload"], ["enable", "mzpanel-job-job_a.timer", "mzpanel-job-job_b.timer"],
                    ["restart", "mzpanel-job-job_a.timer", "mzpanel-job-job_b.timer"],
                ])
            calls = []
            _ = Systemd.apply(try units.install(jobs: [a, b]), units: units, systemdRunning: true, systemctl: record)
            #expect(calls.isEmpty, "an unchanged job set touches nothing")
            var changedB = b
            changedB.schedule = try Schedule.parse("hourly")
            _ = Systemd.apply(try units.install(jobs: [changedB]), units: units, systemdRunning: true, systemctl: record)
            #expect(
                calls == [
                    ["disable", "--now", "mzpanel-job-job_a.timer"], ["daemon-reload"],
                    ["enable", "mzpanel-job-job_b.timer"], ["restart", "mzpanel-job-job_b.timer"],
                ])
            #expect(!FileManager.default.fileExists(atPath: root + "/mzpanel-job-job_a.timer"))
        }
    }

    @Test("without systemd: files only, no systemctl")
    func withoutSystemd() async throws {
        try await withTemporaryDirectory { root in
            let units = TimerUnits(directory: root, agentBinary: "/bin/true", stateDirectory: "/var/lib/mzpanel-agent")
            var called = false
            _ = Systemd.apply(try units.install(jobs: [try Fixtures.job(id: "job_a")]), units: units, systemdRunning: false) { _ in
                called = true
                return nil
            }
            _ = Systemd.apply(try units.install(jobs: []), units: units, systemdRunning: false) { _ in
                called = true
                return nil
            }
            #expect(!called)
            #expect(SecureFile.list(root).isEmpty)
        }
    }
}
