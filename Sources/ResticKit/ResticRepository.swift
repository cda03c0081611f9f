import Foundation
import Redaction

/// Where a restic repository lives and the secrets needed to open it.
///
/// Secrets go ONLY into `environment` (RESTIC_PASSWORD_FILE or RESTIC_PASSWORD, AWS_ACCESS_KEY_ID,
/// AWS_SECRET_ACCESS_KEY, B2_ACCOUNT_KEY, …): they reach restic through its environment, never its
/// arguments. A location holding credentials (`rest:https://user:pass@host/`) is itself a secret:
/// it is handed to restic as RESTIC_REPOSITORY instead of `--repo`.
public struct ResticRepository: Sendable, Hashable {
    /// A local path, `s3:https://host/bucket/prefix`, `rest:https://host/path`, `rclone:remote:path`, `sftp:…`.
    public var location: String
    /// Variables added to restic's environment (on top of PATH and HOME, nothing else is inherited).
    public var environment: [String: String]
    /// A PEM file of extra certificate authorities to trust (`--cacert`).
    public var caCertificatePath: String?
    /// Upload limit in KiB/s (`--limit-upload`; nil: none).
    public var limitUploadKiB: Int?
    /// Download limit in KiB/s (`--limit-download`; nil: none).
    public var limitDownloadKiB: Int?
    /// Passwords the repository may still be keyed with after its credential was rotated (newest
    /// first): the agent replaces such a key with the current password (`RepositoryKeys`). Secrets,
    /// like the environment: never in arguments or messages.
    public var formerPasswords: [String]

    public init(
        location: String, environment: [String: String] = [:], caCertificatePath: String? = nil, limitUploadKiB: Int? = nil,
        limitDownloadKiB: Int? = nil, formerPasswords: [String] = []
    ) {
        self.location = location
        self.environment = environment
        self.caCertificatePath = caCertificatePath
        self.limitUploadKiB = limitUploadKiB
        self.limitDownloadKiB = limitDownloadKiB
        self.formerPasswords = formerPasswords
    }

    /// True when the location must not appear in arguments or messages (it holds `user:pass@`).
    public var locationIsSecret: Bool { location.contains("@") }

    /// Every value that must never appear in a message or a log line: the value of each
    /// environment variable that is not a known non-secret setting, the location when it holds
    /// credentials, and the password inside such a location.
    public var secretValues: [String] {
        var values: [String] = []
        for (key, value) in environment where !Self.nonSecretVariables.contains(key.uppercased()) {
            if !value.isEmpty { values.append(value) }
        }
        values.append(contentsOf: formerPasswords.filter { !$0.isEmpty })
        if locationIsSecret {
            values.append(location)
            values.append(contentsOf: Redactor.credentialParts(in: location))
        }
        return Array(Set(values)).sorted { $0.count > $1.count }
    }

    /// A short text that identifies the repository in messages without credentials.
    public var displayLocation: String { Redactor.redactURLCredentials(location) }

    /// Environment variables whose values are settings, not secrets (paths, regions, tuning).
    static let nonSecretVariables: Set<String> = [
        "RESTIC_PASSWORD_FILE", "RESTIC_CACHE_DIR", "RESTIC_CACERT", "RESTIC_COMPRESSION",
        "RESTIC_PACK_SIZE", "RESTIC_READ_CONCURRENCY", "RESTIC_PROGRESS_FPS", "RESTIC_HOST",
        "RESTIC_KEY_HINT", "RESTIC_TLS_CLIENT_CERT", "TMPDIR", "AWS_DEFAULT_REGION", "AWS_REGION",
        "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "GOOGLE_APPLICATION_CREDENTIALS",
        "RCLONE_BWLIMIT", "RCLONE_CONFIG", "AZURE_ENDPOINT_SUFFIX", "OS_REGION_NAME", "OS_AUTH_URL",
        "RESTIC_IGNORE_CTIME", "RESTIC_IGNORE_INODE",
    ]
}
