import ArgumentParser
import BackupCore
import Foundation
import HubAPI
import Sealing

/// `mzpanel destinations rotate D`: after a server is revoked (or a key leaked), give the
/// destination a new restic repository password (and, when given, the provider's new keys) and
/// seal the credential again to the servers whose keys are still certified; envelopes of the
/// others are removed. Each remaining server then adds a repository key for the new password and
/// removes every other key before it next uses its repository (the agent's `RepositoryKeys`).
/// Everything happens here: the hub sees new ciphertext only.
struct RotateDestination: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Give an offsite destination a new repository password (and new provider keys) sealed only to its still-certified servers.",
        discussion: """
            After `mzpanel servers revoke`, make new keys at the provider, then:
              mzpanel destinations rotate s3-eu --access-key-id-file NEW_ID --secret-access-key-file NEW_SECRET
            The credential gets a new random restic repository password (or --repository-password-file) and the
            new provider keys. Every server sealed to the destination whose key is still certified gets an envelope
            with it; the envelopes of revoked or uncertified servers are removed. Before its next run, restore or
            listing, each of those servers adds a key for the new password to its repository and removes every
            other key, so the old password opens nothing there. Then delete the old keys at the provider: from
            that moment a revoked server cannot reach the bucket.
            Without provider key files the provider keys stay (only the repository password changes);
            --keep-repository-password changes only the provider keys.
            """)
    @Argument(help: "Destination id or name (s3, b2 or rclone).") var destination: String
    @OptionGroup var credentials: CredentialFiles
    @Flag(name: .long, help: "Keep the restic repository password; replace only the provider keys.") var keepRepositoryPassword = false
    @OptionGroup var vault: VaultOptions
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let data = try await client.raw("GET", "/api/v1/destinations/\(destination.pathSegment)")
        let item = try HubDecoding.decode(Destination.self, data)
        let sealedTo = try HubDecoding.decode(DestinationView.self, data).sealedTo
        guard [.s3, .b2, .rclone].contains(item.kind) else {
            throw CLIError(
                "destination \(item.name) is \(item.kind.rawValue): only s3, b2 and rclone destinations hold a credential to rotate"
                    + (item.kind == .peer ? " (a peer's logins are per server: revoking a server and removing its envelope ends its login)" : ""))
        }
        if keepRepositoryPassword && credentials.repositoryPasswordFile != nil {
            throw CLIError("--repository-password-file and --keep-repository-password contradict each other: give one of them")
        }
        if keepRepositoryPassword && !credentials.providerKeysGiven {
            throw CLIError(
                "nothing to rotate: give the provider's new key files, or leave out --keep-repository-password to change the repository password")
        }
        guard let record = item.credentialKey else {
            throw CLIError("destination \(item.name) has no credential yet; add it again with its credential files")
        }
        // Every file is read before anything changes, so a typo changes nothing.
        let providerKeys = credentials.providerKeysGiven ? try credentials.credential(for: item.kind) : nil
        let newPassword = keepRepositoryPassword ? nil : try providerKeys?.repositoryPassword ?? credentials.repositoryPassword()
        let access = VaultAccess(client: client, options: vault)
        let accountID = try await access.accountID()
        let unlocked = try await access.open(accountID: accountID, create: false)
        let rotated: Destination
        do {
            let old = try DestinationKey.credential(
                record, accountID: accountID, destinationID: item.id,
                dataKey: try DestinationKey.open(record, accountID: accountID, destinationID: item.id, vaultKey: unlocked.vaultKey))
            let fresh = try Self.rotated(old, providerKeys: providerKeys, newPassword: newPassword, kind: item.kind)
            guard fresh != old else {
                throw CLIError("these are the keys destination \(item.name) already has: make new keys at the provider and give those")
            }
            var updated = item
            updated.credentialKey = try DestinationKey.create(
                accountID: accountID, destinationID: item.id, vaultKey: unlocked.vaultKey, credential: fresh
            ).record
            rotated = updated
        } catch let error as SealingError {
            throw CLIError(error.description)
        }
        let sealer = DestinationSealer(client: client, vault: unlocked)
        var keep: [Server] = []
        var drop: [Server] = []
        for id in sealedTo {
            let server = try await client.send("GET", "/api/v1/servers/\(id.pathSegment)", as: Server.self)
            if sealer.isCertified(server) { keep.append(server) } else { drop.append(server) }
        }
        // A new credential ends every envelope of the old one on the hub; the certified servers get new ones at once.
        _ = try await client.raw("PATCH", "/api/v1/destinations/\(item.id)", body: DestinationUpdate(credentialKey: rotated.credentialKey))
        for server in keep { _ = try await sealer.seal(rotated, to: server.id) }
        if options.json {
            return Output.json(
                try HubJSON.encoder().encode([
                    "destination": item.id, "sealedTo": keep.map(\.id).joined(separator: ","), "removed": drop.map(\.id).joined(separator: ","),
                    "repositoryPassword": newPassword == nil ? "kept" : "rotated", "providerKeys": providerKeys == nil ? "kept" : "rotated",
                ]))
        }
        print(
            "Rotated \(item.name): the new credential is sealed to \(keep.isEmpty ? "no server" : keep.map(\.name).joined(separator: ", "))"
                + (drop.isEmpty ? "." : "; removed the envelopes of \(drop.map(\.name).joined(separator: ", ")) (not certified)."))
        if newPassword != nil {
            print(
                "Each of those servers replaces its repository key before it next uses the repository (its next run; `mzpanel jobs run JOB` does it now): the old password then opens nothing there."
            )
        }
        if providerKeys != nil {
            print("Now delete the old keys at the provider: until then whoever holds them can still reach the bucket.")
        } else {
            print(
                "The provider keys did not change: whoever kept them can still reach (and delete from) the bucket. Rotate them too with the provider's new key files."
            )
        }
    }

    /// The credential after rotation: the provider's new keys where given, and the new repository
    /// password with the current one kept as former (agents re-key with it).
    static func rotated(
        _ old: DestinationCredential, providerKeys: DestinationCredential?, newPassword: String?, kind: DestinationKind
    ) throws -> DestinationCredential {
        var fresh = old
        if let providerKeys {
            for name in DestinationCredential.requiredFields(for: kind) { fresh.fields[name] = providerKeys.fields[name] }
        }
        if let newPassword {
            if old.repositoryPassword?.contains("\n") == true {
                throw CLIError("the destination's current repository password spans several lines; it cannot be kept as a former password")
            }
            fresh = fresh.rotatingRepositoryPassword(to: newPassword)
        }
        try fresh.validate(for: kind)
        return fresh
    }
}
