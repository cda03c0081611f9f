import Foundation
import Testing

@testable import ResticKit

@Suite("redaction of secrets in messages")
struct RedactionTests {
    @Test("secret values come from the environment, not settings, and from a credentialed location")
    func secretValues() {
        let repository = ResticRepository(
            location: "rest:https://agent:p%40ss@backup.example:8000/web-1",
            environment: [
                "RESTIC_PASSWORD": "correct horse",
                "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI",
                "RESTIC_PASSWORD_FILE": "/etc/mzpanel/pw",
                "RESTIC_CACHE_DIR": "/var/cache/restic",
            ]
        )
        let secrets = Set(repository.secretValues)
        #expect(repository.locationIsSecret)
        #expect(secrets.contains("correct horse"))
        #expect(secrets.contains("wJalrXUtnFEMI"))
        #expect(secrets.contains(repository.location))
        #expect(secrets.contains("p%40ss") && secrets.contains("p@ss"))
        #expect(!secrets.contains("/etc/mzpanel/pw"))
        #expect(!secrets.contains("/var/cache/restic"))
        #expect(repository.displayLocation == "rest:https://[redacted]@backup.example:8000/web-1")
    }

    @Test("a secret printed by restic does not reach the message or the detail")
    func classifiedMessageIsRedacted() {
        let secret = "hunter2-\(UUID().uuidString)"
        let stderr = """
            Fatal: unable to open config file: Stat: Get "https://AKIA:\(secret)@s3.example/bucket/?location=": dial tcp 10.0.0.1:443: connect: connection refused
            using key \(secret) from the environment
            """
        let error = ResticErrorClassifier.classify(
            exitCode: 1, stderr: stderr, version: ResticVersion(major: 0, minor: 14, patch: 0),
            secrets: [secret], operation: "checking the repository"
        )
        #expect(error.kind == .unreachable)
        #expect(!error.message.contains(secret))
        #expect(!error.detail.contains(secret))
        #expect(!error.description.contains("AKIA:"))
    }
}
