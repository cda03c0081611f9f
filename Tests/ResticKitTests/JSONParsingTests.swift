import Foundation
import Testing

@testable import ResticKit

/// Lines as printed by restic 0.14.0 unless said otherwise.
@Suite("parsing of restic's JSON output")
struct JSONParsingTests {
    @Test("a status line with an unknown remaining time (2^63)")
    func status() throws {
        let line =
            #"{"message_type":"status","seconds_elapsed":1,"seconds_remaining":9223372036854775808,"percent_done":0,"total_files":1,"current_files":["/x"]}"#
        guard case .status(let progress)? = JSONLines.decodeBackupLine(line) else {
            Issue.record("not a status")
            return
        }
        #expect(progress.secondsElapsed == 1)
        #expect(progress.secondsRemaining == nil)
        #expect(progress.totalFiles == 1)
        #expect(progress.percentDone == 0)
    }

    @Test("a summary line with 0.14's short snapshot id")
    func summary() throws {
        let line =
            #"{"message_type":"summary","files_new":6,"files_changed":0,"files_unmodified":0,"dirs_new":3,"dirs_changed":0,"dirs_unmodified":0,"data_blobs":6,"tree_blobs":4,"data_added":53129,"total_files_processed":6,"total_bytes_processed":50003,"total_duration":0.240689301,"snapshot_id":"9c2242c1","future_field":{"a":1}}"#
        guard case .summary(let parsed)? = JSONLines.decodeBackupLine(line) else {
            Issue.record("not a summary")
            return
        }
        #expect(parsed.snapshotID == "9c2242c1")
        #expect(parsed.summary.filesNew == 6)
        #expect(parsed.summary.dirsNew == 3)
        #expect(parsed.summary.dataAdded == 53129)
        #expect(parsed.summary.totalBytesProcessed == 50003)
        #expect(abs(parsed.summary.totalDuration - 0.2407) < 0.001)
    }

    @Test("error lines of 0.14 (Go error struct) and 0.15+ (message)")
    func errors() {
        let old = #"{"message_type":"error","error":{"Op":"read","Path":"/proc/17954/mem","Err":5},"during":"archival","item":"/proc/17954/mem"}"#
        let new = #"{"message_type":"error","error":{"message":"open /srv/x: permission denied"},"during":"archival","item":"/srv/x"}"#
        guard case .error(let oldText)? = JSONLines.decodeBackupLine(old),
            case .error(let newText)? = JSONLines.decodeBackupLine(new)
        else {
            Issue.record("not errors")
            return
        }
        #expect(oldText == "read /proc/17954/mem: input/output error")
        #expect(newText == "open /srv/x: permission denied")
    }

    @Test("unknown message types and non-JSON lines are ignored")
    func unknown() {
        if case .other? = JSONLines.decodeBackupLine(#"{"message_type":"verbose_status","action":"new"}"#) {
        } else {
            Issue.record("expected .other")
        }
        #expect(JSONLines.decodeBackupLine("Warning: at least one source file could not be read") == nil)
    }

    @Test("snapshot times with nanoseconds and offsets")
    func dates() throws {
        let utc = try #require(ResticDate.parse("2026-11-27T00:03:55.339854205Z"))
        #expect(abs(utc.timeIntervalSince1970 - 1_795_737_835.339854) < 0.000_01)
        let offset = try #require(ResticDate.parse("2026-11-27T01:03:55.5+01:00"))
        #expect(abs(offset.timeIntervalSince1970 - 1_795_737_835.5) < 0.000_01)
        let plain = try #require(ResticDate.parse("2026-11-27T00:03:55Z"))
        #expect(plain.timeIntervalSince1970 == 1_795_737_835)
    }

    @Test("forget groups with null tags and remove")
    func forgetGroups() throws {
        let line =
            #"[{"tags":null,"host":"h1","paths":["/tmp/rx/src"],"keep":[{"time":"2026-11-27T00:03:55.339854205Z","tree":"a1","paths":["/tmp/rx/src"],"hostname":"h1","username":"root","tags":["job=A"],"id":"9c2242c1bcabe791","short_id":"9c2242c1"}],"remove":null,"reasons":[]}]"#
        let groups = try JSONDecoder().decode([JSONLines.ForgetGroup].self, from: Data(line.utf8)).map(\.model)
        #expect(groups.count == 1)
        #expect(groups[0].host == "h1")
        #expect(groups[0].tags.isEmpty)
        #expect(groups[0].keep == ["9c2242c1bcabe791"])
        #expect(groups[0].remove.isEmpty)
    }

    @Test("the producer failure that restic 0.17+ reports")
    func commandFailure() {
        let stderr = "subprocess pg_dump: pg_dump: error: connection failed\nFatal: unable to save snapshot: command failed: exit status 3\n"
        let status = Restic.commandFailureStatus(stderr)
        #expect(status?.code == 3)
        #expect(Restic.subprocessOutput(stderr, name: "pg_dump") == "pg_dump: error: connection failed")
        let json = #"{"message_type":"error","message":"subprocess pg_dump: FATAL: no pg_hba.conf entry"}"#
        #expect(Restic.subprocessOutput(json, name: "pg_dump") == "FATAL: no pg_hba.conf entry")
        let exit = #"{"message_type":"exit_error","code":1,"message":"Fatal: unable to save snapshot: command failed: exit status 2"}"#
        #expect(Restic.commandFailureStatus(exit)?.code == 2)
        #expect(Restic.commandFailureStatus("Fatal: command failed: signal: killed")?.code == nil)
        #expect(Restic.commandFailureStatus("Fatal: wrong password") == nil)
    }
}
