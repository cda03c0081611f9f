import BackupCore
import Foundation
import HubAPI
import Sealing

/// One command's use of the vault: unlocked at most once (one prompt), and the signing that
/// follows every change to a job or destination while the account has a vault (trust mode).
final class VaultSession {
    let client: APIClient
    let access: VaultAccess
    private var opened: UnlockedVault?
    private var vaultExists: Bool?

    init(client: APIClient, options: VaultOptions) {
        self.client = client
        self.access = VaultAccess(client: client, options: options)
    }

    func unlocked(create: Bool = false) async throws -> UnlockedVault {
        if let opened { return opened }
        let vault = try await access.open(accountID: try await access.accountID(), create: create)
        opened = vault
        vaultExists = true
        return vault
    }

    /// Trust mode is on once the account has a vault: agents then pin its signing key.
    func trustMode() async throws -> Bool {
        if let vaultExists { return vaultExists }
        do {
            _ = try await client.raw("GET", "/api/v1/vault")
            vaultExists = true
        } catch let error as CLIError where error.exitCode == 3 {
            vaultExists = false
        }
        return vaultExists ?? false
    }

    /// The signer when trust mode is on and the vault can be unlocked here; nil otherwise.
    func signer() async throws -> ManifestSigner? {
        guard try await trustMode(), opened != nil || access.options.canUnlock else { return nil }
        return ManifestSigner(client: client, vault: try await unlocked())
    }

    /// The restore signer when the vault can be unlocked here; nil otherwise.
    func restoreSigner() async throws -> RestoreSigner? {
        guard opened != nil || access.options.canUnlock else { return nil }
        return RestoreSigner(client: client, vault: try await unlocked())
    }

    /// Refuses, before anything changes, a command that would leave a job unsigned in trust mode.
    func requireSigner(for what: String) async throws {
        guard try await trustMode(), opened == nil, !access.options.canUnlock else { return }
        throw CLIError(
            "this account has a vault, so its servers run only signed \(what)s: give --vault-passphrase-file FILE (or MZPANEL_VAULT_PASSPHRASE_FILE) so this command can sign it. Nothing was changed"
        )
    }

    /// Signs a job a command just created or changed (after holding it against `intent`); the
    /// lines say what happened, and which of its destinations still need a signature.
    func signAfterChange(_ job: Job, intent: JobIntent) async throws -> [String] {
        guard try await trustMode() else { return [] }
        guard let signer = try await signer() else {
            return [
                "Job \(job.name) is not signed (no vault passphrase here): servers that pinned the account key refuse it until you run `mzpanel jobs sign \(job.id)`."
            ]
        }
        try await signer.sign(job, intent: intent)
        return ["Signed job \(job.name) with the account key \(signer.vault.signingKey.fingerprint)."] + (try await destinationNotes(job))
    }

    /// Lines naming the job's destinations that servers would refuse (not signed, or changed).
    func destinationNotes(_ job: Job) async throws -> [String] {
        var lines: [String] = []
        for id in job.destinationIDs {
            let view = try await client.send("GET", "/api/v1/destinations/\(id)", as: DestinationView.self)
            if view.manifestState != .signed {
                lines.append(
                    "Destination \(view.destination.name) is \(view.manifestState?.rawValue ?? "unsigned"): servers refuse this job until you check it and run `mzpanel destinations sign \(view.destination.name)`."
                )
            }
        }
        return lines
    }
}
