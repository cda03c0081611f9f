import BackupCore
import Foundation
import HubAPI
import Sealing
import Store

/// Members' own access to the vault as use cases (docs/sealing.md, "Member wrappings"): a member stores their key
/// (made on their machine), anyone who can seal lists the keys and stores the vault key sealed to one (made on the
/// granter's machine after comparing fingerprints), or removes it. The hub never sees a passphrase or the vault key.
struct MemberVaultService {
    let hub: HubServices

    /// The caller's member id: API tokens made before members existed have none.
    private func caller() throws -> String {
        guard let memberID = Access.current?.memberID else {
            throw DomainError.invalid(
                "member", "a member key belongs to a member: sign in, or use an API token made by a member (`mzpanel tokens create`)")
        }
        return memberID
    }

    /// Stores the caller's own key; a new key drops the wrapping sealed to the old one.
    func putKey(_ body: MemberKeyRequest, accountID: String) async throws -> MemberVaultEntry {
        try Access.require(.editDestinations)
        let memberID = try caller()
        let key = try body.key.validated(memberID: memberID)
        let document = String(decoding: try JSONEncoder().encode(key), as: UTF8.self)
        guard try await hub.store.putMemberVaultKey(accountID: accountID, memberID: memberID, key: document, keyID: key.keyID, now: hub.clock.now())
        else { throw DomainError.notFound("member", memberID) }
        return try await ownEntry(accountID: accountID, memberID: memberID)!
    }

    /// The caller's own key and wrapping; nil while they have none.
    func ownKey(accountID: String) async throws -> MemberVaultEntry? {
        try Access.require(.readSecrets)
        return try await ownEntry(accountID: accountID, memberID: try caller())
    }

    /// The caller's own entry without the permission check (the vault document's reader checked it).
    func ownEntry(accountID: String, memberID: String) async throws -> MemberVaultEntry? {
        guard let record = try await hub.store.memberVaultRecord(accountID: accountID, memberID: memberID) else { return nil }
        return try Self.entry(record, email: try await hub.store.user(id: memberID)?.email, own: true)
    }

    func list(accountID: String) async throws -> MemberVaultList {
        try Access.require(.readSecrets)
        let emails = Dictionary(try await hub.store.members(accountID: accountID).map { ($0.id, $0.email) }, uniquingKeysWith: { a, _ in a })
        let own = Access.current?.memberID
        return MemberVaultList(
            you: own,
            members: try await hub.store.memberVaultRecords(accountID: accountID).map {
                try Self.entry($0, email: emails[$0.memberID], own: $0.memberID == own)
            })
    }

    /// Stores the vault key sealed to `reference`'s key (the one `keyID` names).
    func grant(_ reference: String, body: MemberWrappingRequest, accountID: String) async throws -> MemberVaultEntry {
        try Access.require(.editDestinations)
        let member = try await MemberService(hub: hub).member(reference, accountID: accountID)
        let request = try body.validated()
        guard let record = try await hub.store.memberVaultRecord(accountID: accountID, memberID: member.id) else {
            throw DomainError.conflict("member", "\(member.email) has no member key yet; they make one with `mzpanel vault member-key`")
        }
        guard record.keyID == request.keyID else {
            throw DomainError.conflict(
                "keyID",
                "\(member.email)'s member key is \(record.keyID), not \(request.keyID); ask them for the fingerprint again and seal to that key")
        }
        guard
            try await hub.store.setMemberVaultWrapping(
                accountID: accountID, memberID: member.id, keyID: request.keyID, wrapping: request.wrapping, now: hub.clock.now())
        else { throw DomainError.conflict("keyID", "\(member.email)'s member key changed meanwhile; seal to their new key") }
        var updated = record
        updated.wrapping = request.wrapping
        return try Self.entry(updated, email: member.email, own: member.id == Access.current?.memberID)
    }

    /// Removes the vault key sealed to `reference`'s key (their key stays; they can be granted again).
    func revoke(_ reference: String, accountID: String) async throws {
        try Access.require(.editDestinations)
        let member = try await MemberService(hub: hub).member(reference, accountID: accountID)
        guard let record = try await hub.store.memberVaultRecord(accountID: accountID, memberID: member.id), record.wrapping != nil,
            try await hub.store.setMemberVaultWrapping(
                accountID: accountID, memberID: member.id, keyID: record.keyID, wrapping: nil, now: hub.clock.now())
        else { throw DomainError.notFound("wrapping", reference) }
    }

    static func entry(_ record: MemberVaultRecord, email: String?, own: Bool) throws -> MemberVaultEntry {
        guard let key = try? JSONDecoder().decode(MemberKeyDocument.self, from: Data(record.key.utf8)) else {
            throw StoreError.corrupt("the member key of \(record.memberID) is a document this version cannot read")
        }
        return MemberVaultEntry(
            memberID: record.memberID, email: email, key: key, keyID: record.keyID, wrapped: record.wrapping != nil,
            wrapping: own ? record.wrapping : nil, updatedAt: record.updatedAt)
    }
}
