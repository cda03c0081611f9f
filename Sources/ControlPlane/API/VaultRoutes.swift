import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// The account vault (docs/sealing.md): stored for the user's browser and CLI, never opened here.
struct VaultRoutes {
    let hub: HubServices

    func register(on api: inout APIRouter) {
        api.on(
            .get, "/api/v1/vault", summary: "The account's vault document (ciphertext; unlocked only in the browser or CLI)",
            // Write, not read: the ciphertext is what an offline passphrase guess needs; read-only tokens never need it.
            tag: "vault", scope: .write, response: "VaultDocument", vault)
        api.on(
            .put, "/api/v1/vault", summary: "Create the account's vault, or replace it after a passphrase change (replace=true)",
            tag: "vault", body: "VaultRequest", response: "VaultDocument", putVault)
    }

    @Sendable func vault(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        guard let vault = try await VaultService(hub: hub).document(accountID: try context.accountID()) else {
            throw APIError(
                .notFound, code: "not_found",
                "this account has no vault yet; it is created with the first offsite destination (`mzpanel destinations add`, or the web form)")
        }
        return JSONBody(vault)
    }

    @Sendable func putVault(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let accountID = try context.accountID()
        let body = try await request.decodeJSON(VaultRequest.self, context: context)
        let document = try await VaultService(hub: hub).put(body, accountID: accountID)
        return JSONBody(document)
    }
}
