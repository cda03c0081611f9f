import BackupCore
import Foundation
import LinkProtocol
import SQLKit

extension SQLHubStore {
    public func createDestination(_ destination: Destination) async throws {
        let settings = try ColumnJSON.encode(destination.settings)
        let key = try destination.credentialKey.map(ColumnJSON.encode)
        try await write { db in
            if try await db.raw("SELECT id FROM destinations WHERE account_id = \(bind: destination.accountID) AND name = \(bind: destination.name)")
                .first() != nil
            {
                throw DomainError.conflict("name", "a destination named \"\(destination.name)\" already exists; choose another name")
            }
            try await db.raw(
                """
                INSERT INTO destinations (id, account_id, name, kind, settings, credential_key, created_at, updated_at, manifest, max_concurrent_runs)
                VALUES (\(bind: destination.id), \(bind: destination.accountID), \(bind: destination.name), \(bind: destination.kind.rawValue),
                        \(bind: settings), \(bind: key), \(bind: destination.createdAt.millisecondsSince1970), \(bind: destination.updatedAt.millisecondsSince1970),
                        \(bind: try destination.manifest.map(ColumnJSON.encode)), \(bind: destination.maxConcurrentRuns))
                """
            ).run()
        }
    }

    public func destination(accountID: String, reference: String) async throws -> Destination? {
        try await read { db in
            try await db.raw(
                """
                SELECT * FROM destinations WHERE account_id = \(bind: accountID) AND (id = \(bind: reference) OR name = \(bind: reference))
                """
            ).first().map(Self.destination)
        }
    }

    public func destinations(accountID: String) async throws -> [Destination] {
        try await read { db in
            try await db.raw("SELECT * FROM destinations WHERE account_id = \(bind: accountID) ORDER BY name").all().map(Self.destination)
        }
    }

    public func updateDestination(_ destination: Destination) async throws {
        let settings = try ColumnJSON.encode(destination.settings)
        let key = try destination.credentialKey.map(ColumnJSON.encode)
        try await write { db in
            if try await db.raw(
                "SELECT id FROM destinations WHERE account_id = \(bind: destination.accountID) AND name = \(bind: destination.name) AND id <> \(bind: destination.id)"
            ).first() != nil {
                throw DomainError.conflict("name", "a destination named \"\(destination.name)\" already exists; choose another name")
            }
            try await db.raw(
                """
                UPDATE destinations SET name = \(bind: destination.name), settings = \(bind: settings), credential_key = \(bind: key), updated_at = \(bind: destination.updatedAt.millisecondsSince1970),
                  max_concurrent_runs = \(bind: destination.maxConcurrentRuns)
                WHERE id = \(bind: destination.id) AND account_id = \(bind: destination.accountID)
                """
            ).run()
        }
    }

    public func deleteDestination(accountID: String, id: String) async throws -> Bool {
        try await write { db in
            guard try await db.raw("SELECT id FROM destinations WHERE id = \(bind: id) AND account_id = \(bind: accountID)").first() != nil else {
                return false
            }
            let users = try await db.raw(
                "SELECT j.name FROM job_destinations jd JOIN jobs j ON j.id = jd.job_id WHERE jd.destination_id = \(bind: id) ORDER BY j.name"
            ).all()
            if !users.isEmpty {
                let names = try users.map { try $0.text("name") }.joined(separator: ", ")
                throw DomainError.conflict(nil, "the destination is used by the jobs \(names); remove it from those jobs first")
            }
            try await db.raw("DELETE FROM envelopes WHERE destination_id = \(bind: id)").run()
            try await db.raw("DELETE FROM destinations WHERE id = \(bind: id)").run()
            return true
        }
    }

    public func jobsUsing(accountID: String, destinationID: String) async throws -> [(id: String, name: String)] {
        try await read { db in
            try await db.raw(
                """
                SELECT j.id, j.name FROM job_destinations jd JOIN jobs j ON j.id = jd.job_id
                WHERE jd.destination_id = \(bind: destinationID) AND j.account_id = \(bind: accountID) ORDER BY j.name
                """
            ).all().map { (id: try $0.text("id"), name: try $0.text("name")) }
        }
    }

    public func putEnvelope(_ envelope: SealedEnvelope) async throws {
        let ciphertext = envelope.ciphertext.base64EncodedString()
        try await write { db in
            guard
                try await db.raw(
                    "SELECT id FROM destinations WHERE id = \(bind: envelope.destinationID) AND account_id = \(bind: envelope.accountID)"
                ).first() != nil,
                try await db.raw("SELECT id FROM servers WHERE id = \(bind: envelope.serverID) AND account_id = \(bind: envelope.accountID)").first()
                    != nil
            else {
                throw DomainError.notFound("destination or server", envelope.destinationID)
            }
            try await db.raw(
                "DELETE FROM envelopes WHERE destination_id = \(bind: envelope.destinationID) AND server_id = \(bind: envelope.serverID)"
            ).run()
            try await db.raw(
                """
                INSERT INTO envelopes (account_id, destination_id, server_id, key_id, version, ciphertext, peer_login, recovery_login, created_at)
                VALUES (\(bind: envelope.accountID), \(bind: envelope.destinationID), \(bind: envelope.serverID), \(bind: envelope.keyID),
                        \(bind: envelope.version), \(bind: ciphertext), \(bind: envelope.peerLogin), \(bind: envelope.recoveryLogin),
                        \(bind: envelope.createdAt.millisecondsSince1970))
                """
            ).run()
        }
    }

    public func envelopes(accountID: String, destinationID: String) async throws -> [SealedEnvelope] {
        try await read { db in
            try await db.raw(
                "SELECT * FROM envelopes WHERE account_id = \(bind: accountID) AND destination_id = \(bind: destinationID) ORDER BY server_id"
            ).all().map(Self.envelope)
        }
    }

    public func envelopes(accountID: String, serverID: String) async throws -> [SealedEnvelope] {
        try await read { db in
            try await db.raw(
                "SELECT * FROM envelopes WHERE account_id = \(bind: accountID) AND server_id = \(bind: serverID) ORDER BY destination_id"
            ).all().map(Self.envelope)
        }
    }

    public func envelopes(accountID: String) async throws -> [SealedEnvelope] {
        try await read { db in
            try await db.raw("SELECT * FROM envelopes WHERE account_id = \(bind: accountID) ORDER BY destination_id, server_id").all().map(
                Self.envelope)
        }
    }

    public func deleteEnvelope(accountID: String, destinationID: String, serverID: String) async throws -> Bool {
        try await write { db in
            let selector = SQLQueryString(
                "account_id = \(bind: accountID) AND destination_id = \(bind: destinationID) AND server_id = \(bind: serverID)")
            guard try await db.raw("SELECT server_id FROM envelopes WHERE \(selector)").first() != nil else { return false }
            try await db.raw("DELETE FROM envelopes WHERE \(selector)").run()
            return true
        }
    }

    static func destination(_ row: any SQLRow) throws -> Destination {
        guard let kind = DestinationKind(rawValue: try row.text("kind")) else { throw StoreError.corrupt("destinations.kind holds an unknown kind") }
        return Destination(
            id: try row.text("id"), accountID: try row.text("account_id"), name: try row.text("name"), kind: kind,
            settings: try row.document("settings", as: DestinationSettings.self),
            credentialKey: try row.optionalText("credential_key").map {
                try ColumnJSON.decode(DestinationKeyRecord.self, $0, column: "credential_key")
            },
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"),
            manifest: try row.optionalText("manifest").map { try ColumnJSON.decode(SignedManifest.self, $0, column: "manifest") },
            maxConcurrentRuns: try row.optionalInteger("max_concurrent_runs").map(Int.init)
        )
    }

    /// Stores a destination's signed manifest, unless it changed after `unchangedSince`.
    public func setDestinationManifest(accountID: String, id: String, manifest: SignedManifest, unchangedSince: Date) async throws -> Bool {
        let text = try ColumnJSON.encode(manifest)
        return try await write { db in
            guard
                try await db.raw(
                    "SELECT id FROM destinations WHERE id = \(bind: id) AND account_id = \(bind: accountID) AND updated_at = \(bind: unchangedSince.millisecondsSince1970)"
                ).first() != nil
            else { return false }
            try await db.raw("UPDATE destinations SET manifest = \(bind: text) WHERE id = \(bind: id) AND account_id = \(bind: accountID)").run()
            return true
        }
    }

    static func envelope(_ row: any SQLRow) throws -> SealedEnvelope {
        guard let ciphertext = Data(base64Encoded: try row.text("ciphertext")) else { throw StoreError.corrupt("envelopes.ciphertext is not base64") }
        return SealedEnvelope(
            accountID: try row.text("account_id"), destinationID: try row.text("destination_id"), serverID: try row.text("server_id"),
            keyID: try row.text("key_id"), version: Int(try row.integer("version")), ciphertext: ciphertext,
            peerLogin: try row.optionalText("peer_login"), recoveryLogin: try row.optionalText("recovery_login"),
            createdAt: try row.date("created_at")
        )
    }
}

extension SQLHubStore {
    public func vault(accountID: String) async throws -> VaultDocument? {
        try await read { db in
            try await db.raw("SELECT document FROM vaults WHERE account_id = \(bind: accountID)").first()
                .map { try $0.document("document", as: VaultDocument.self) }
        }
    }

    public func putVault(accountID: String, document: VaultDocument, replacing: Bool, now: Date) async throws {
        let text = try ColumnJSON.encode(document)
        try await write { db in
            let exists = try await db.raw("SELECT account_id FROM vaults WHERE account_id = \(bind: accountID)").first() != nil
            if exists && !replacing {
                throw DomainError.conflict(nil, "this account already has a vault; unlock it, or change its passphrase with replace=true")
            }
            if !exists && replacing { throw DomainError.notFound("vault", accountID) }
            try await db.raw("DELETE FROM vaults WHERE account_id = \(bind: accountID)").run()
            try await db.raw(
                "INSERT INTO vaults (account_id, document, updated_at) VALUES (\(bind: accountID), \(bind: text), \(bind: now.millisecondsSince1970))"
            ).run()
        }
    }
}

extension SQLHubStore {
    public func putPeerReport(_ report: PeerReport, accountID: String, serverID: String, now: Date) async throws {
        var stored = report
        stored.reportedAt = now
        let text = try ColumnJSON.encode(stored)
        try await write { db in
            try await db.raw("DELETE FROM peer_reports WHERE destination_id = \(bind: report.destinationID) AND account_id = \(bind: accountID)")
                .run()
            try await db.raw(
                """
                INSERT INTO peer_reports (destination_id, account_id, server_id, report, reported_at)
                VALUES (\(bind: report.destinationID), \(bind: accountID), \(bind: serverID), \(bind: text), \(bind: now.millisecondsSince1970))
                """
            ).run()
        }
    }

    public func peerReports(accountID: String) async throws -> [String: PeerReport] {
        try await read { db in
            let rows = try await db.raw("SELECT report FROM peer_reports WHERE account_id = \(bind: accountID)").all()
            let reports = try rows.map { try $0.document("report", as: PeerReport.self) }
            return Dictionary(reports.map { ($0.destinationID, $0) }) { first, _ in first }
        }
    }
}
