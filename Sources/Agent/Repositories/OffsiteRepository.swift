import BackupCore
import Foundation
import LinkProtocol
import ResticKit
import Sealing

/// The restic repository of an offsite destination: the envelope sealed to this server is opened
/// with the server key, in memory, for this run only; its secrets reach restic (and rclone)
/// through the child's environment. Each server has its own repository below the destination's
/// prefix (`…/<server id>`), like local destinations; a restore may open another server's
/// (`RepositoryAccess.repositoryServerID`) with this server's envelope.
enum OffsiteRepository {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func make(destination: Destination, access context: RepositoryAccess) throws -> ResticRepository {
        let serverID = context.identity.serverID
        guard let envelope = context.envelopes.first(where: { $0.destinationID == destination.id && $0.serverID == serverID }) else {
            throw Failure(
                description:
                    "destination \(destination.name) is not sealed to this server yet; run `mzpanel destinations attach \(destination.name) --server \(context.identity.serverName)` (or use it on this server in the web hub)"
            )
        }
        let key = try ServerKey.load(from: context.state.serverKeyFile)
        guard envelope.keyID == key.fingerprint else {
            throw Failure(
                description:
                    "the credential of \(destination.name) was sealed to key \(envelope.keyID), but this server's key is \(key.fingerprint) (the agent was enrolled again); seal the destination to this server again"
            )
        }
        let address = Envelope.Address(
            accountID: context.identity.accountID, destinationID: destination.id, serverID: serverID, keyID: envelope.keyID)
        let opened = try Envelope.open(envelope.ciphertext, address: address, privateKey: key.privateKey)
        let credential = opened.credential
        guard let password = credential.repositoryPassword, !password.isEmpty else {
            throw Failure(description: "the credential of \(destination.name) has no repository password; give the destination its credential again")
        }
        let cache = context.state.directory + "/cache"
        try SecureFile.makeDirectory(cache)
        var environment = [
            "RESTIC_PASSWORD": password, "RESTIC_CACHE_DIR": cache, "RESTIC_PROGRESS_FPS": "1",
            OrphanProcesses.marker: context.runID,
        ]
        let settings = destination.settings
        let location: String
        switch destination.kind {
        case .local:
            throw Failure(description: "a local destination has no envelope")
        case .s3:
            guard let endpoint = settings.endpoint, let bucket = settings.bucket else {
                throw Failure(description: "the s3 destination \(destination.name) has no endpoint or bucket")
            }
            location = "s3:" + join(endpoint, bucket, settings.prefix, context.repositoryServerID)
            environment["AWS_ACCESS_KEY_ID"] = credential.fields["accessKeyID"]
            environment["AWS_SECRET_ACCESS_KEY"] = credential.fields["secretAccessKey"]
            if let region = settings.region { environment["AWS_DEFAULT_REGION"] = region }
        case .b2:
            guard let bucket = settings.bucket else { throw Failure(description: "the b2 destination \(destination.name) has no bucket") }
            location = "b2:" + bucket + ":" + join(settings.prefix, context.repositoryServerID)
            environment["B2_ACCOUNT_ID"] = credential.fields["accountID"]
            environment["B2_ACCOUNT_KEY"] = credential.fields["accountKey"]
        case .rclone:
            guard let remote = settings.remote else { throw Failure(description: "the rclone destination \(destination.name) has no remote") }
            let variables = try RcloneEnvironment.variables(config: credential.fields["rcloneConfig"] ?? "", remote: remote)
            environment.merge(variables) { _, new in new }
            location = "rclone:" + remote + ":" + join(settings.prefix, context.repositoryServerID)
        case .peer:
            return try PeerRepository.make(destination: destination, access: context, environment: environment, login: opened.serverSecrets)
        }
        return ResticRepository(location: location, environment: environment, formerPasswords: credential.formerRepositoryPasswords)
    }

    /// Joins path parts with single slashes, skipping empty ones.
    static func join(_ parts: String?...) -> String {
        parts.compactMap { $0 }.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "/")) }.filter { !$0.isEmpty }.joined(separator: "/")
    }
}

/// An rclone.conf text turned into `RCLONE_CONFIG_<REMOTE>_<KEY>` variables: rclone reads a
/// remote from its environment, so no configuration file with keys is ever written to disk.
enum RcloneEnvironment {
    static func variables(config: String, remote: String) throws -> [String: String] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for raw in config.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                sections[current!, default: [:]] = sections[current!, default: [:]]
                continue
            }
            guard let name = current, let equals = line.firstIndex(of: "=") else {
                throw OffsiteRepository.Failure(
                    description:
                        "the rclone configuration has a line outside a [remote] section or without '='; fix the destination's rclone configuration")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[name, default: [:]][key] = value
        }
        guard sections[remote] != nil else {
            throw OffsiteRepository.Failure(
                description:
                    "the rclone configuration does not define the remote \"\(remote)\"; it defines \(sections.keys.sorted().joined(separator: ", "))")
        }
        var variables: [String: String] = [:]
        for (name, keys) in sections {
            for (key, value) in keys { variables["RCLONE_CONFIG_\(envName(name))_\(envName(key))"] = value }
        }
        return variables
    }

    static func envName(_ text: String) -> String {
        String(text.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }
}
