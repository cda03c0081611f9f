import ArgumentParser
import BackupCore
import Foundation
import HubAPI
import Sealing

/// `mzpanel destinations rotate D`: after a server is revoked (or a provider key leaked), put the
/// provider's new keys in the destination's credential and seal it again to the servers whose
/// keys are still certified; envelopes of the others are removed. Everything happens here: the
/// hub sees new ciphertext only.
struct RotateDestination: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Replace an offsite destination's provider keys and seal them only to its still-certified servers.",
        discussion: """
            Make new keys at the provider first, then:
              mzpanel destinations rotate s3-eu --access-key-id-file NEW_ID --secret-access-key-file NEW_SECRET
            Every server sealed to the destination whose key is still certified gets an envelope with the new
            keys; the envelopes of revoked or uncertified servers are removed. Then delete the old keys at the
            provider: from that moment a revoked server cannot reach the bucket. The restic repository password
            stays the same (existing snapshots stay readable by the servers that keep the destination).
            """)
    @Argument(help: "Destination id or name (s3, b2 or rclone).") var destination: String
    @OptionGroup var credentials: CredentialFiles
    @OptionGroup var vault: VaultOptions
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let data = try await client.raw("GET", "/api/v1/destinations/\(destination.pathSegment)")
        let item = try HubDecoding.decode(Destination.self, data)
        let sealedTo = try HubDecoding.decode(DestinationView.self, data).sealedTo
        guard [.s3, .b2, .rclone].contains(item.kind) else {
            throw CLIError(
                "destination \(item.name) is \(item.kind.rawValue): only s3, b2 and rclone destinations hold provider keys to rotate"
                    + (item.kind == .peer ? " (a peer's logins are per server: revoking a server and removing its envelope ends its login)" : ""))
        }
        guard credentials.repositoryPasswordFile == nil else {
            throw CLIError("--repository-password-file: rotate keeps the restic repository password; give only the provider's new keys")
        }
        guard let record = item.credentialKey else {
            throw CLIError("destination \(item.name) has no credential yet; add it again with its credential files")
        }
        // Every file is read before anything changes, so a typo changes nothing.
        guard var fresh = try credentials.credential(for: item.kind) else { return }
        let access = VaultAccess(client: client, options: vault)
        let accountID = try await access.accountID()
        let unlocked = try await access.open(accountID: accountID, create: false)
        let rotated: Destination
        do {
            let old = try DestinationKey.credential(
                record, accountID: accountID, destinationID: item.id,
                dataKey: try DestinationKey.open(record, accountID: accountID, destinationID: item.id, vaultKey: unlocked.vaultKey))
            fresh.fields["repositoryPassword"] = old.repositoryPassword
            try fresh.validate(for: item.kind)
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
                ]))
        }
        print(
            "Rotated \(item.name): the new keys are sealed to \(keep.isEmpty ? "no server" : keep.map(\.name).joined(separator: ", "))"
                + (drop.isEmpty ? "." : "; removed the envelopes of \(drop.map(\.name).joined(separator: ", ")) (not certified)."))
        print("Now delete the old keys at the provider: until then whoever holds them can still reach the bucket.")
    }
}
