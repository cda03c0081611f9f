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
            tag: "vault", scope: .write, response: "VaultView", vault)
        api.on(
            .put, "/api/v1/vault", summary: "Create the account's vault, or replace it after a passphrase change (replace=true)",
            tag: "vault", body: "VaultRequest", response: "VaultDocument", putVault)
        api.on(
            .get, "/api/v1/vault/member-key", summary: "The caller's own member key and the vault key sealed to it, if granted",
            tag: "vault", scope: .write, response: "MemberVaultEntry", memberKey)
        api.on(
            .put, "/api/v1/vault/member-key",
            summary: "Set the caller's own member key (made on their machine; a new key drops the wrapping sealed to the old one)",
            tag: "vault", body: "MemberKeyRequest", response: "MemberVaultEntry", putMemberKey)
        api.on(
            .get, "/api/v1/vault/members", summary: "Members' vault keys, their fingerprints and whether the vault key is sealed to them",
            tag: "vault", scope: .write, response: "MemberVaultList", memberKeys)
        api.on(
            .put, "/api/v1/vault/members/{member}/wrapping",
            summary: "Store the vault key sealed to a member's key (sealed on the granter's machine after comparing fingerprints)",
            tag: "vault", body: "MemberWrappingRequest", response: "MemberVaultEntry", grant)
        api.on(
            .delete, "/api/v1/vault/members/{member}/wrapping", summary: "Remove the vault key sealed to a member's key (their key stays)",
            tag: "vault", response: "Deleted", revoke)
    }

    @Sendable func memberKey(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        guard let entry = try await MemberVaultService(hub: hub).ownKey(accountID: try context.accountID()) else {
            throw APIError(.notFound, code: "not_found", "you have no member key yet; make one with `mzpanel vault member-key`")
        }
        return JSONBody(entry)
    }

    @Sendable func putMemberKey(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let accountID = try context.accountID()
        let body = try await request.decodeJSON(MemberKeyRequest.self, context: context)
        return JSONBody(try await MemberVaultService(hub: hub).putKey(body, accountID: accountID))
    }

    @Sendable func memberKeys(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        JSONBody(try await MemberVaultService(hub: hub).list(accountID: try context.accountID()))
    }

    @Sendable func grant(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let accountID = try context.accountID()
        let body = try await request.decodeJSON(MemberWrappingRequest.self, context: context)
        return JSONBody(try await MemberVaultService(hub: hub).grant(try context.parameter("member"), body: body, accountID: accountID))
    }

    @Sendable func revoke(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Deleted> {
        try await MemberVaultService(hub: hub).revoke(try context.parameter("member"), accountID: try context.accountID())
        return JSONBody(Deleted())
    }

    @Sendable func vault(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        guard let vault = try await VaultService(hub: hub).document(accountID: try context.accountID()) else {
            throw APIError(
                .notFound, code: "not_found",
                "this account has no vault yet; it is created with the first offsite destination (`mzpanel destinations add`, or the web form)")
        }
        var member: MemberVaultEntry?
        if let memberID = context.caller?.userID {
            member = try await MemberVaultService(hub: hub).ownEntry(accountID: try context.accountID(), memberID: memberID)
        }
        return JSONBody(VaultView(vault: vault, member: member))
    }

    @Sendable func putVault(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let accountID = try context.accountID()
        let body = try await request.decodeJSON(VaultRequest.self, context: context)
        let document = try await VaultService(hub: hub).put(body, accountID: accountID)
        return JSONBody(document)
    }
}
