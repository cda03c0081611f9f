import BackupCore
import Foundation
import LinkProtocol
import ResticKit
import Sealing
import Testing

@testable import Agent

/// Job hooks on the box, with real restic and /bin/sh: each before-hook policy, the after,
/// on-failure and finally hooks, the timeout, the environment, redaction, and the signature.
@Suite("Agent: job hooks (real restic)", .enabled(if: ResticPresence.usable, "restic is not installed (apt-get install restic)"))
struct JobHookTests {
    struct Case {
        let setup: JobRunnerTests.Setup
        let jobID: String
        let marks: String

        /// Which hooks ran, in order (each appends its name to the marks file).
        func ran() -> [String] {
            ((try? String(contentsOfFile: marks, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
    }

    /// A job backing up a small tree, with these hooks; each hook's command is prefixed with a
    /// line recording that it ran.
    static func make(root: String, hooks: JobHooks) throws -> Case {
        try Fixtures.makeTree(at: root + "/site", files: 5)
        let marks = root + "/marks"
        var hooks = hooks
        func mark(_ name: String, _ command: String?) -> String? {
            command.map { "echo \(name) >> \(marks); \($0)" }
        }
        hooks.before = mark("before", hooks.before)
        hooks.after = mark("after", hooks.after)
        hooks.onFailure = mark("onFailure", hooks.onFailure)
        hooks.finally = mark("finally", hooks.finally)
        let jobID = ResourceID.make(.job)
        let setup = try JobRunnerTests.setup(root: root) { destination in
            var job = try Fixtures.job(id: jobID, paths: [root + "/site"], destinationIDs: [destination.id])
            job.hooks = try hooks.validated()
            return [AgentJob(job: job, destinations: [destination], envelopes: [])]
        }
        return Case(setup: setup, jobID: jobID, marks: marks)
    }

    static func run(_ hookCase: Case, log: RunLog = RunLog(echo: false)) async throws -> (Run, Snapshot?) {
        var execution = RunExecution(state: hookCase.setup.state, engine: await JobRunner.make(), log: log)
        execution.deliveryTimeout = 0
        return try JobRunnerTests.finished(try await execution.execute(.init(jobID: hookCase.jobID, trigger: .manual)))
    }

    @Test("policy cancel: no backup, the run is cancelled (health stays ok), on-failure does not run, finally does")
    func cancel() async throws {
        try await withTemporaryDirectory { root in
            let hookCase = try Self.make(
                root: root, hooks: JobHooks(before: "echo not now; exit 3", onFailure: "true", finally: "true", beforePolicy: .cancel))
            let (run, snapshot) = try await Self.run(hookCase)
            #expect(run.status == .cancelled, "\(run.logExcerpt ?? "")")
            #expect(snapshot == nil)
            #expect(run.results.allSatisfy { $0.status == .skipped })
            #expect(run.results.first?.error?.contains("the before hook exited with status 3") == true)
            #expect(hookCase.ran() == ["before", "finally"])
            #expect(run.logExcerpt?.contains("hook before: not now") == true)
            #expect(!FileManager.default.fileExists(atPath: hookCase.setup.repository), "restic never ran")
            let status = JobStatus(
                try Fixtures.job(), latestRun: RunBrief(run), newestSnapshotAt: nil)
            #expect(JobHealth.evaluate(status, serverOnline: true, now: Date()) == .ok, "a cancelled run does not alert")
        }
    }

    @Test("policy fail: no backup, the run fails with the reason and on-failure runs; ignore: the backup goes on and after runs")
    func failAndIgnore() async throws {
        try await withTemporaryDirectory { root in
            let failing = try Self.make(
                root: root + "/fail", hooks: JobHooks(before: "exit 7", after: "true", onFailure: "true", finally: "true", beforePolicy: .fail))
            let (failed, none) = try await Self.run(failing)
            #expect(failed.status == .failed)
            #expect(none == nil)
            #expect(failed.results.first?.error?.contains("exited with status 7 (policy fail)") == true)
            #expect(failing.ran() == ["before", "onFailure", "finally"])

            let ignoring = try Self.make(
                root: root + "/ignore", hooks: JobHooks(before: "exit 7", after: "true", onFailure: "true", beforePolicy: .ignore))
            let (ignored, snapshot) = try await Self.run(ignoring)
            #expect(ignored.status == .succeeded, "\(ignored.logExcerpt ?? "")")
            #expect(snapshot != nil)
            #expect(ignored.logExcerpt?.contains("policy ignore: backing up anyway") == true)
            #expect(ignoring.ran() == ["before", "after"])
        }
    }

    @Test("a hook that outlives its timeout is stopped with its children; the default policy fails the run")
    func timeout() async throws {
        try await withTemporaryDirectory { root in
            let hookCase = try Self.make(root: root, hooks: JobHooks(before: "sleep 30 & wait", timeoutSeconds: 1))
            let started = Date()
            let (run, _) = try await Self.run(hookCase)
            #expect(Date().timeIntervalSince(started) < 20)
            #expect(run.status == .failed)
            #expect(run.results.first?.error?.contains("was stopped after 1 s (its timeout)") == true, "\(run.results)")
        }
    }

    @Test("hooks see PATH, HOME and the run's ids, never a secret; their output is redacted in the log")
    func environmentAndRedaction() async throws {
        try await withTemporaryDirectory { root in
            let hookCase = try Self.make(
                root: root,
                hooks: JobHooks(before: "env | sort > \(root)/env.txt; echo token=hunter2-secret-value", after: "echo status=$MZPANEL_RUN_STATUS"))
            let log = RunLog(secrets: ["hunter2-secret-value"], echo: false)
            let (run, _) = try await Self.run(hookCase, log: log)
            #expect(run.status == .succeeded)
            let names = Set(
                try String(contentsOfFile: root + "/env.txt", encoding: .utf8).split(separator: "\n").compactMap { $0.split(separator: "=").first }
                    .map(String.init))
            let allowed: Set<String> = ["PATH", "HOME", "PWD", "SHLVL", "_", "MZPANEL_JOB_ID", "MZPANEL_JOB_NAME", "MZPANEL_HOOK", "MZPANEL_RUN_ID"]
            #expect(names.isSubset(of: allowed), "unexpected variables: \(names.subtracting(allowed))")
            #expect(names.contains("MZPANEL_RUN_ID"))
            let excerpt = run.logExcerpt ?? ""
            #expect(!excerpt.contains("hunter2-secret-value"))
            #expect(excerpt.contains("hook before: token="))
            #expect(excerpt.contains("hook after: status=succeeded"))
        }
    }

    @Test("with a pinned account key, a job whose hooks differ from the signed ones runs nothing, not even the hooks")
    func injectedHookIsRefused() async throws {
        try await withTemporaryDirectory { root in
            let hookCase = try Self.make(root: root, hooks: JobHooks(before: "true"))
            let key = try AccountSigningKey.generate()
            let state = hookCase.setup.state
            try ManifestTrust(state: state).pin(key.publicKey)
            var jobs = try #require(try state.loadJobs())
            var agentJob = jobs.jobs[0]
            agentJob.job.manifest = try ManifestSignature.sign(JobManifest(job: agentJob.job, version: 10), with: key)
            agentJob.destinations[0].manifest = try ManifestSignature.sign(
                DestinationManifest(destination: agentJob.destinations[0], version: 10), with: key)
            // The hub swaps the signed command for its own.
            agentJob.job.hooks?.before = "echo injected >> \(hookCase.marks)"
            jobs.jobs = [agentJob]
            try state.saveJobs(jobs)
            let (run, _) = try await Self.run(hookCase)
            #expect(run.status == .failed)
            #expect(run.results.first?.error?.contains("differs from what your account signed (hooks)") == true, "\(run.results)")
            #expect(hookCase.ran().isEmpty, "the injected hook never ran")
        }
    }
}
