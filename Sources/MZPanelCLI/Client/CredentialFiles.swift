import ArgumentParser
import BackupCore
import Foundation
import Sealing

/// The secret fields of an offsite destination, each from a file (or - for standard input).
struct CredentialFiles: ParsableArguments {
    @Option(name: .long, help: "s3: file holding the access key id.") var accessKeyIdFile: String?
    @Option(name: .long, help: "s3: file holding the secret access key.") var secretAccessKeyFile: String?
    @Option(name: .long, help: "b2: file holding the account id (key id).") var accountIdFile: String?
    @Option(name: .long, help: "b2: file holding the application key.") var accountKeyFile: String?
    @Option(name: .long, help: "rclone: an rclone.conf that defines --remote (read here, sealed, never stored on a server).") var rcloneConfigFile:
        String?
    @Option(name: .long, help: "File holding the restic repository password (default: a random one, kept in the sealed credential).")
    var repositoryPasswordFile: String?

    var anyGiven: Bool { providerKeysGiven || repositoryPasswordFile != nil }

    /// True when any file of a provider's keys is given.
    var providerKeysGiven: Bool {
        [accessKeyIdFile, secretAccessKeyFile, accountIdFile, accountKeyFile, rcloneConfigFile].contains { $0 != nil }
    }

    /// The repository password from `--repository-password-file`, or a new random one.
    func repositoryPassword() throws -> String {
        try repositoryPasswordFile.map { try SecretInput.read(file: $0, what: "repository password") } ?? PeerLogin.randomPassword()
    }

    /// The credential for `kind`, or nil for local destinations.
    func credential(for kind: DestinationKind) throws -> DestinationCredential? {
        guard kind.isOffsite else { return nil }
        var fields: [String: String] = [:]
        fields["repositoryPassword"] = try repositoryPassword()
        func required(_ path: String?, flag: String, what: String) throws -> String {
            guard let path else { throw CLIError("a \(kind.rawValue) destination needs --\(flag) FILE (\(what))") }
            return try SecretInput.read(file: path, what: what)
        }
        switch kind {
        case .local, .peer: break
        case .s3:
            fields["accessKeyID"] = try required(accessKeyIdFile, flag: "access-key-id-file", what: "access key id")
            fields["secretAccessKey"] = try required(secretAccessKeyFile, flag: "secret-access-key-file", what: "secret access key")
        case .b2:
            fields["accountID"] = try required(accountIdFile, flag: "account-id-file", what: "B2 account id")
            fields["accountKey"] = try required(accountKeyFile, flag: "account-key-file", what: "B2 application key")
        case .rclone:
            guard let path = rcloneConfigFile else {
                throw CLIError("an rclone destination needs --rclone-config-file FILE (an rclone.conf defining the remote)")
            }
            fields["rcloneConfig"] = try SecretInput.readAll(file: path, what: "rclone configuration")
        }
        let credential = DestinationCredential(fields: fields)
        do {
            try credential.validate(for: kind)
        } catch let error as SealingError {
            throw CLIError(error.description)
        }
        return credential
    }
}
