import Foundation
import Testing

@testable import ResticKit

@Suite("restic installation")
struct InstallationTests {
    /// On CI a missing restic must fail the run, not silently disable the restic tests.
    @Test("restic is installed on CI")
    func resticRequiredOnCI() {
        if ResticAvailability.isCI {
            #expect(ResticAvailability.isInstalled, "CI=true but restic is not installed: the restic tests would not run")
        }
    }

    @Test("detect reads the installed version", .enabled(if: ResticAvailability.isInstalled, ResticAvailability.reason))
    func detect() async throws {
        let restic = try await Restic.detect()
        #expect(restic.executablePath.hasPrefix("/"))
        #expect(restic.version >= ResticVersion(major: 0, minor: 9, patch: 0))
    }

    @Test("an executable that cannot be started is notInstalled, with the reason")
    func cannotStart() async throws {
        try await withTemporaryDirectory { root in
            let path = root.appendingPathComponent("restic").path
            _ = FileManager.default.createFile(atPath: path, contents: Data("not a program".utf8), attributes: [.posixPermissions: 0o644])
            let restic = Restic(executablePath: path, version: ResticVersion(major: 0, minor: 14, patch: 0))
            let error = await #expect(throws: ResticError.self) {
                _ = try await restic.isInitialized(ResticRepository(location: root.path))
            }
            #expect(error?.kind == .notInstalled)
            #expect(error?.message == "could not run restic: permission denied")
        }
    }

    @Test("detect reports a missing executable as notInstalled")
    func detectMissing() async {
        await #expect {
            _ = try await Restic.detect(executable: "restic-that-does-not-exist-\(UUID().uuidString.prefix(6))")
        } throws: { error in
            (error as? ResticError)?.kind == .notInstalled
        }
    }
}
