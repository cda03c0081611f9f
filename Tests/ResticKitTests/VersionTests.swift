import Testing

@testable import ResticKit

@Suite("restic version parsing and features")
struct VersionTests {
    @Test(
        "parses restic version output",
        arguments: [
            ("restic 0.14.0 compiled with go1.19.8 on linux/amd64", ResticVersion(major: 0, minor: 14, patch: 0)),
            ("restic 0.17.3 (v0.17.3-0-gabc1234) compiled with go1.23.1 on linux/arm64", ResticVersion(major: 0, minor: 17, patch: 3)),
            ("restic 0.17.3 (…)", ResticVersion(major: 0, minor: 17, patch: 3)),
            (
                "restic 0.18.0-dev (compiled manually) compiled with go1.24.0 on darwin/arm64",
                ResticVersion(major: 0, minor: 18, patch: 0, suffix: "dev")
            ),
            ("restic 0.16.4 compiled with go1.22.2 on linux/amd64\n", ResticVersion(major: 0, minor: 16, patch: 4)),
            ("v0.9.6", ResticVersion(major: 0, minor: 9, patch: 6)),
            ("restic 1.0.0 compiled with go1.30 on freebsd/amd64", ResticVersion(major: 1, minor: 0, patch: 0)),
        ])
    func parses(text: String, expected: ResticVersion) throws {
        let parsed = try #require(ResticVersion(parsing: text))
        #expect(parsed.major == expected.major)
        #expect(parsed.minor == expected.minor)
        #expect(parsed.patch == expected.patch)
    }

    @Test("keeps a dev suffix")
    func suffix() throws {
        let parsed = try #require(ResticVersion(parsing: "restic 0.18.0-dev (compiled manually)"))
        #expect(parsed.suffix == "dev")
        #expect(parsed.description == "0.18.0-dev")
    }

    @Test("rejects text without a version", arguments: ["", "restic", "command not found", "restic dev compiled with go1.22"])
    func rejects(text: String) {
        #expect(ResticVersion(parsing: text) == nil)
    }

    @Test("orders versions numerically, a dev build after its release")
    func ordering() throws {
        let v0_9_6 = try #require(ResticVersion(parsing: "0.9.6"))
        let v0_14 = try #require(ResticVersion(parsing: "restic 0.14.0 compiled with go1.19.8 on linux/amd64"))
        let v0_16_4 = try #require(ResticVersion(parsing: "0.16.4"))
        let v0_17 = try #require(ResticVersion(parsing: "0.17.0"))
        let v0_17_dev = try #require(ResticVersion(parsing: "0.17.0-dev"))
        let v0_17_3 = try #require(ResticVersion(parsing: "restic 0.17.3 (…)"))
        #expect([v0_17_3, v0_14, v0_17_dev, v0_9_6, v0_17, v0_16_4].sorted() == [v0_9_6, v0_14, v0_16_4, v0_17, v0_17_dev, v0_17_3])
        #expect(v0_14 < v0_17_3)
        #expect(ResticVersion(major: 0, minor: 14, patch: 0) == v0_14)
    }

    @Test("feature flags follow the changelog")
    func features() throws {
        let v0_14 = ResticVersion(major: 0, minor: 14, patch: 0)
        let v0_16 = ResticVersion(major: 0, minor: 16, patch: 0)
        let v0_17 = ResticVersion(major: 0, minor: 17, patch: 0)
        let v0_18 = ResticVersion(major: 0, minor: 18, patch: 1)
        #expect(!v0_14.supportsStdinFromCommand && !v0_14.hasDetailedExitCodes && !v0_14.supportsRetryLock)
        #expect(!v0_14.reportsFullSnapshotID)
        #expect(v0_16.supportsRetryLock && !v0_16.supportsStdinFromCommand && !v0_16.hasDetailedExitCodes)
        #expect(v0_17.supportsStdinFromCommand && v0_17.hasDetailedExitCodes && v0_17.supportsRetryLock)
        #expect(!v0_17.hasCheckJSON && v0_18.hasCheckJSON && v0_18.hasJSONExitErrors)
    }
}
