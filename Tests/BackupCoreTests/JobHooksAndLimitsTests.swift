import BackupCore
import Foundation
import Testing

@Suite("Hooks and bandwidth limits: validation")
struct JobHooksAndLimitsTests {
    @Test func hookCommandsAreTrimmedLimitedAndFreeOfControlCharacters() throws {
        let hooks = try #require(try JobHooks(before: "  pg_ctl stop\n", after: "", finally: "echo a\n\techo b", timeoutSeconds: 300).validated())
        #expect(hooks.before == "pg_ctl stop")
        #expect(hooks.after == nil, "\"\" is no hook")
        #expect(hooks.finally == "echo a\n\techo b", "a multi-line script is fine")
        #expect(hooks.timeoutSeconds == nil, "the default is not stored")
        #expect(hooks.policy == .fail)
        #expect(try JobHooks(before: " ").validated() == nil, "no command: no hooks")

        func field(_ hooks: JobHooks) -> String? {
            do {
                _ = try hooks.validated()
                return nil
            } catch {
                return error.field
            }
        }
        #expect(field(JobHooks(before: "a\u{0}b")) == "hooks.before")
        #expect(field(JobHooks(onFailure: "a\rb")) == "hooks.onFailure")
        #expect(field(JobHooks(after: "printf '\u{1B}[2J'")) == "hooks.after")
        #expect(field(JobHooks(finally: String(repeating: "é", count: 2049))) == "hooks.finally", "4096 bytes, not characters")
        #expect(field(JobHooks(before: "true", timeoutSeconds: 0)) == "hooks.timeoutSeconds")
        #expect(field(JobHooks(before: "true", timeoutSeconds: 21_601)) == "hooks.timeoutSeconds")
        #expect(field(JobHooks(after: "true", beforePolicy: .cancel)) == "hooks.beforePolicy")
        #expect(field(JobHooks(timeoutSeconds: 60)) == "hooks")
        #expect(throws: DomainError.self) { try HookFailurePolicy.parse("sometimes") }
        #expect(try HookFailurePolicy.parse(" Cancel ") == .cancel)
    }

    @Test func aCancelledRunDoesNotMakeTheJobFailing() throws {
        let job = Job(
            id: "job_1", accountID: "acc_1", serverID: "srv_1", name: "site", kind: .full, sources: JobSources(paths: ["/srv"]),
            schedule: try Schedule.parse("daily"), retention: .standard, destinationIDs: ["dst_1"], enabled: true, createdAt: Date(),
            updatedAt: Date())
        let now = Date()
        func health(_ status: RunStatus) -> JobHealth {
            JobHealth.evaluate(
                JobStatus(job, latestRun: RunBrief(id: "run_1", status: status, slot: nil, createdAt: now, finishedAt: now), newestSnapshotAt: now),
                serverOnline: true, now: now)
        }
        #expect(health(.cancelled) == .ok)
        #expect(health(.failed) == .failing)
        #expect(health(.interrupted) == .failing)
    }

    @Test func bandwidthLimitsAreValidatedForEveryKindAndTheTimeTableForRcloneOnly() throws {
        let local = try DestinationSettings(path: "/var/backups", limitUploadKiB: 512, limitDownloadKiB: 0).validated(for: .local)
        #expect(local.limitUploadKiB == 512)
        #expect(local.limitDownloadKiB == nil, "0 is no limit")
        #expect(throws: DomainError.self) { try DestinationSettings(path: "/var/backups", limitUploadKiB: -1).validated(for: .local) }
        #expect(throws: DomainError.self) { try DestinationSettings(path: "/var/backups", limitDownloadKiB: 20_000_000).validated(for: .local) }
        #expect(throws: DomainError.self) { try DestinationSettings(path: "/var/backups", bandwidthSchedule: "1M").validated(for: .local) }

        for good in ["08:00,512k 19:00,off", "  Mon-00:00,2M   Sat-09:00,off ", "10M", "off", "512k:1M", "07:30,1.5M:off"] {
            #expect(try DestinationSettings(remote: "gd", bandwidthSchedule: good).validated(for: .rclone).bandwidthSchedule != nil, "\(good)")
        }
        #expect(
            try DestinationSettings(remote: "gd", bandwidthSchedule: "  Mon-00:00,2M   Sat-09:00,off ").validated(for: .rclone).bandwidthSchedule
                == "Mon-00:00,2M Sat-09:00,off")
        for bad in ["25:00,1M", "08:00", "08:00,fast", "Xyz-08:00,1M", "08:00,1M;rm -rf /", "8:00,1M", "08:00,-1M", "1M 2M", "08:00,1M\n09:00,off"] {
            #expect(throws: DomainError.self, "\(bad)") { try DestinationSettings(remote: "gd", bandwidthSchedule: bad).validated(for: .rclone) }
        }
    }
}
