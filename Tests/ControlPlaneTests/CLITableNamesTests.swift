import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import Testing

@testable import MZPanelCLI

/// What `mzpanel jobs list`, `runs list` and `snapshots list` print, from the hub's real answers: names where
/// a person reads names; the ids stay in the JSON (`--json`).
@Suite("CLI tables name jobs, servers and destinations")
struct CLITableNamesTests {
    @Test func listingsCarryNamesAndTheTablesShowThem() async throws {
        try await withTestHub { hub, client in
            let seeded = try await APIHistoryTests.Seeded.make(hub, client)
            let token = seeded.account.token
            func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
                let response = try await client.call(.get, path, token: token)
                try #require(response.status == .ok, "\(path): \(response)")
                return try HubJSON.decoder().decode(T.self, from: Data(response.text.utf8))
            }

            let snapshots = try await get("/api/v1/snapshots", as: SnapshotPage.self)
            #expect(snapshots.names[seeded.site] == "site" && snapshots.names[seeded.web1] == "web1" && snapshots.names[seeded.nas] == "nas")
            #expect(snapshots.snapshots.allSatisfy { $0.jobID.hasPrefix("job_") && $0.serverID.hasPrefix("srv_") }, "the JSON keeps the ids")
            let snapshotRows = SnapshotsCommand.rows(snapshots)
            let newest = try #require(snapshotRows.first)
            #expect(Array(newest[2...4]) == ["site", "web1", "nas"])
            #expect(snapshotRows.contains { Array($0[2...3]) == ["site", "web1"] && Set($0[4].split(separator: ",")) == ["nas", "usb"] })
            #expect(snapshotRows.contains { Array($0[2...4]) == ["dump", "db1", "nas"] })

            let runs = try await get("/api/v1/runs", as: RunPage.self)
            #expect(Set(RunsCommand.rows(runs).map { $0[1] }) == ["site", "dump"])

            let jobs = try await get("/api/v1/jobs", as: JobList.self)
            #expect(Set(JobsCommand.rows(jobs).map { "\($0[0]) on \($0[2])" }) == ["site on web1", "dump on db1"])
            #expect(try await get("/api/v1/jobs/site", as: JobView.self).serverName == "web1")

            // The columns people read (JOB, SERVER, COPIES) hold no ids.
            let named = snapshotRows.flatMap { $0[2...4] } + RunsCommand.rows(runs).map { $0[1] } + JobsCommand.rows(jobs).map { $0[2] }
            for cell in named {
                #expect(!cell.hasPrefix("job_") && !cell.hasPrefix("srv_") && !cell.contains("dst_"), "an id where a name belongs: \(cell)")
            }
        }
    }
}
