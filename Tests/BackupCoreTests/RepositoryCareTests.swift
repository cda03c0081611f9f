import Foundation
import Testing

@testable import BackupCore

@Suite("repository care settings and prune jobs")
struct RepositoryCareTests {
    @Test("max unused, max repack size and lock wait are validated and normalized")
    func settings() throws {
        let clean = try DestinationSettings(path: "/var/backups", pruneMaxUnused: " 5% ", pruneMaxRepackSize: "2GiB", lockWaitSeconds: 900)
            .validated(for: .local)
        #expect(clean.pruneMaxUnused == "5%")
        #expect(clean.pruneMaxRepackSize == "\(2 << 30)")
        #expect(clean.lockWaitSeconds == 900)
        #expect(RepositoryCare.lockWait(clean) == 900)
        #expect(RepositoryCare.lockWait(DestinationSettings()) == RepositoryCare.defaultLockWaitSeconds)
        #expect(try RepositoryCare.maxUnused("Unlimited") == "unlimited")
        #expect(try RepositoryCare.maxUnused("1G") == "\(1 << 30)")
        #expect(try DestinationSettings(path: "/b", pruneMaxUnused: "").validated(for: .local).pruneMaxUnused == nil)
        for (settings, field) in [
            (DestinationSettings(path: "/b", pruneMaxUnused: "150%"), "pruneMaxUnused"),
            (DestinationSettings(path: "/b", pruneMaxUnused: "--dry-run"), "pruneMaxUnused"),
            (DestinationSettings(path: "/b", pruneMaxRepackSize: "1k"), "pruneMaxRepackSize"),
            (DestinationSettings(path: "/b", pruneMaxRepackSize: "lots"), "pruneMaxRepackSize"),
            (DestinationSettings(path: "/b", lockWaitSeconds: -1), "lockWaitSeconds"),
            (DestinationSettings(path: "/b", lockWaitSeconds: 90_000), "lockWaitSeconds"),
        ] {
            let error = #expect(throws: DomainError.self) { try settings.validated(for: .local) }
            #expect(error?.field == field, "\(settings)")
        }
        let peer = #expect(throws: DomainError.self) {
            try DestinationSettings(peerServerID: "srv_1", peerAddress: "store:8443", pruneMaxUnused: "5%").validated(for: .peer)
        }
        #expect(peer?.message.contains("append-only") == true)
    }

    @Test("a prune job is a maintenance job: no sources, no staleness")
    func pruneJobs() throws {
        #expect(try JobKind.parse("PRUNE") == .prune)
        #expect(JobKind.prune.isMaintenance && JobKind.check.isMaintenance && !JobKind.full.isMaintenance)
        #expect(try JobSources().validated(for: .prune) == JobSources())
        let error = #expect(throws: DomainError.self) { try JobSources(paths: ["/srv"]).validated(for: .prune) }
        #expect(error?.field == "sources")
        #expect(throws: DomainError.self) { try Job.validatedStaleAfter(7200, kind: .prune) }
    }
}
