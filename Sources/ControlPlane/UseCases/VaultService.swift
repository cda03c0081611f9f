import BackupCore
import Foundation
import HubAPI
import Store

/// The account vault's document as use cases: read (ciphertext, but what an offline passphrase guess
/// needs, so only members who may read secrets get it) and create or replace it.
struct VaultService {
    let hub: HubServices

    /// The vault document; nil while the account has none.
    func document(accountID: String) async throws -> VaultDocument? {
        try Access.require(.readSecrets)
        return try await hub.store.vault(accountID: accountID)
    }

    /// Creates the vault, or replaces it after a passphrase change (`replace`).
    func put(_ body: VaultRequest, accountID: String) async throws -> VaultDocument {
        try Access.require(.editDestinations)
        let document: VaultDocument
        do throws(DomainError) {
            document = try body.vault.validated()
        } catch {
            throw error.prefixed("vault")
        }
        let previous = try await hub.store.vault(accountID: accountID)
        try await hub.store.putVault(accountID: accountID, document: document, replacing: body.replace ?? false, now: hub.clock.now())
        // Agents check signed jobs against the account key in their job set: a new key reaches every box at once.
        if previous?.signingKey != document.signingKey {
            for server in try await hub.store.servers(accountID: accountID) { try await hub.notifyAgent(of: server) }
        }
        return document
    }
}
