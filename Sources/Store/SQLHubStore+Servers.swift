import BackupCore
import Foundation
import SQLKit

extension SQLHubStore {
    public func createServer(_ server: Server) async throws {
        try await write { db in
            if try await db.raw("SELECT id FROM servers WHERE account_id = \(bind: server.accountID) AND name = \(bind: server.name)").first() != nil
            {
                throw DomainError.conflict("name", "a server named \"\(server.name)\" already exists; choose another name")
            }
            try await db.raw(
                """
                INSERT INTO servers (id, account_id, name, public_key, key_fingerprint, agent_version, enrolled_at, last_seen_at, created_at)
                VALUES (\(bind: server.id), \(bind: server.accountID), \(bind: server.name), \(bind: server.publicKey), \(bind: server.keyFingerprint),
                        \(bind: server.agentVersion), \(bind: server.enrolledAt.milliseconds), \(bind: server.lastSeenAt.milliseconds), \(bind: server.createdAt.millisecondsSince1970))
                """
            ).run()
        }
    }

    public func server(accountID: String, reference: String) async throws -> Server? {
        try await read { db in
            try await db.raw(
                """
                SELECT * FROM servers WHERE account_id = \(bind: accountID) AND (id = \(bind: reference) OR name = \(bind: reference))
                """
            ).first().map(Self.server)
        }
    }

    public func servers(accountID: String) async throws -> [Server] {
        try await readRows("SELECT * FROM servers WHERE account_id = \(bind: accountID) ORDER BY name") { try Self.server($0) }
    }

    public func servers(accountID: String, after cursor: Cursor?, limit: Int) async throws -> Page<Server> {
        try await read { db in
            let query =
                "SELECT s.* FROM servers s WHERE s.account_id = \(bind: accountID)"
                + Self.keyset(cursor: cursor, since: nil, until: nil, alias: "s", idColumn: "id")
                + " ORDER BY s.created_at DESC, s.id DESC LIMIT \(literal: limit + 1)"
            let servers = try await db.raw(query).all().map(Self.server)
            return Self.page(servers, limit: limit) { Cursor(createdAt: $0.createdAt, id: $0.id) }
        }
    }

    public func servers(accountID: String, ids: [String]) async throws -> [Server] {
        guard !ids.isEmpty else { return [] }
        return try await read { db in
            try await db.raw("SELECT * FROM servers WHERE account_id = \(bind: accountID) AND id IN (\(binds: Array(Set(ids)))) ORDER BY name").all()
                .map(Self.server)
        }
    }

    public func updateServer(_ server: Server) async throws {
        try await write { db in
            if try await db.raw(
                "SELECT id FROM servers WHERE account_id = \(bind: server.accountID) AND name = \(bind: server.name) AND id <> \(bind: server.id)"
            ).first() != nil {
                throw DomainError.conflict("name", "a server named \"\(server.name)\" already exists; choose another name")
            }
            try await db.raw(
                """
                UPDATE servers SET name = \(bind: server.name), public_key = \(bind: server.publicKey), key_fingerprint = \(bind: server.keyFingerprint),
                  agent_version = \(bind: server.agentVersion), enrolled_at = \(bind: server.enrolledAt.milliseconds), last_seen_at = \(bind: server.lastSeenAt.milliseconds),
                  max_concurrent_runs = \(bind: server.maxConcurrentRuns)
                WHERE id = \(bind: server.id) AND account_id = \(bind: server.accountID)
                """
            ).run()
        }
    }

    /// Stores (or, nil, removes) the certificate of the server's key, only while its key is still
    /// `publicKey`; false when the server is gone or its key changed meanwhile.
    public func certifyServer(accountID: String, id: String, publicKey: String, certificate: String?) async throws -> Bool {
        try await write { db in
            guard
                try await db.raw(
                    "SELECT id FROM servers WHERE id = \(bind: id) AND account_id = \(bind: accountID) AND public_key = \(bind: publicKey)"
                ).first() != nil
            else { return false }
            try await db.raw("UPDATE servers SET certificate = \(bind: certificate) WHERE id = \(bind: id)").run()
            return true
        }
    }

    /// The destinations sealed to a server: those whose credentials its agent can open.
    public func destinationsSealed(accountID: String, serverID: String) async throws -> [Destination] {
        try await read { db in try await Self.destinationsSealed(accountID: accountID, serverID: serverID, on: db) }
    }

    static func destinationsSealed(accountID: String, serverID: String, on db: any SQLDatabase) async throws -> [Destination] {
        try await db.raw(
            """
            SELECT d.* FROM destinations d JOIN envelopes e ON e.destination_id = d.id
            WHERE e.server_id = \(bind: serverID) AND d.account_id = \(bind: accountID) ORDER BY d.name
            """
        ).all().map(Self.destination)
    }

    public func deleteServer(accountID: String, id: String) async throws -> [Destination]? {
        let exposed: [Destination]? = try await write { db in
            guard try await db.raw("SELECT id FROM servers WHERE id = \(bind: id) AND account_id = \(bind: accountID)").first() != nil else {
                return nil
            }
            let exposed = try await Self.destinationsSealed(accountID: accountID, serverID: id, on: db)
            try await db.raw("DELETE FROM job_destinations WHERE job_id IN (SELECT id FROM jobs WHERE server_id = \(bind: id))").run()
            try await db.raw("DELETE FROM jobs WHERE server_id = \(bind: id)").run()
            try await db.raw("DELETE FROM envelopes WHERE server_id = \(bind: id)").run()
            try await db.raw("DELETE FROM enrollment_tokens WHERE server_id = \(bind: id)").run()
            try await db.raw("DELETE FROM stack_reports WHERE server_id = \(bind: id)").run()
            try await db.raw("DELETE FROM servers WHERE id = \(bind: id)").run()
            try await CommandNotifications.notify(credential: id, on: db)
            return exposed
        }
        if exposed != nil { await credentialBell.ring(id) }
        return exposed
    }

    public func createEnrollmentToken(_ token: EnrollmentToken, hash: String) async throws {
        try await write { db in
            try await db.raw(
                """
                INSERT INTO enrollment_tokens (id, account_id, server_id, token_hash, created_at, expires_at)
                VALUES (\(bind: token.id), \(bind: token.accountID), \(bind: token.serverID), \(bind: hash),
                        \(bind: token.createdAt.millisecondsSince1970), \(bind: token.expiresAt.millisecondsSince1970))
                """
            ).run()
        }
    }

    public func enrollmentTokens(accountID: String, serverID: String) async throws -> [EnrollmentToken] {
        try await read { db in
            try await db.raw(
                """
                SELECT * FROM enrollment_tokens WHERE account_id = \(bind: accountID) AND server_id = \(bind: serverID) ORDER BY created_at, id
                """
            ).all().map(Self.enrollmentToken)
        }
    }

    public func deleteEnrollmentToken(accountID: String, id: String) async throws -> Bool {
        try await write { db in
            guard try await db.raw("SELECT id FROM enrollment_tokens WHERE id = \(bind: id) AND account_id = \(bind: accountID)").first() != nil
            else { return false }
            try await db.raw("DELETE FROM enrollment_tokens WHERE id = \(bind: id)").run()
            return true
        }
    }

    public func consumeEnrollmentToken(hash: String, now: Date) async throws -> EnrollmentToken? {
        try await write { db in try await Self.consumeEnrollmentToken(hash: hash, now: now, on: db) }
    }

    /// Marks an unused, unexpired token used in one guarded UPDATE: of concurrent callers exactly
    /// one gets the row back (RETURNING works on SQLite ≥ 3.35 and PostgreSQL).
    static func consumeEnrollmentToken(hash: String, now: Date, on db: any SQLDatabase) async throws -> EnrollmentToken? {
        let ms = now.millisecondsSince1970
        guard
            let row = try await db.raw(
                """
                UPDATE enrollment_tokens SET used_at = \(bind: ms)
                WHERE token_hash = \(bind: hash) AND used_at IS NULL AND expires_at > \(bind: ms)
                RETURNING id, account_id, server_id, created_at, expires_at, used_at
                """
            ).first()
        else { return nil }
        return try enrollmentToken(row)
    }

    static func server(_ row: any SQLRow) throws -> Server { try server(SQLKitRow(row: row)) }

    static func server(_ row: any StoreRow) throws -> Server {
        Server(
            id: try row.text("id"), accountID: try row.text("account_id"), name: try row.text("name"),
            publicKey: try row.optionalText("public_key"), keyFingerprint: try row.optionalText("key_fingerprint"),
            certificate: try row.optionalText("certificate"), agentVersion: try row.optionalText("agent_version"),
            enrolledAt: try row.optionalDate("enrolled_at"),
            lastSeenAt: try row.optionalDate("last_seen_at"), createdAt: try row.date("created_at"),
            capabilities: (try row.optionalText("capabilities") ?? "").split(separator: ",").map(String.init),
            maxConcurrentRuns: try row.optionalInteger("max_concurrent_runs").map(Int.init)
        )
    }

    static func enrollmentToken(_ row: any SQLRow) throws -> EnrollmentToken {
        EnrollmentToken(
            id: try row.text("id"), accountID: try row.text("account_id"), serverID: try row.text("server_id"),
            createdAt: try row.date("created_at"), expiresAt: try row.date("expires_at"), usedAt: try row.optionalDate("used_at")
        )
    }
}

extension SQLHubStore {
    public func putStackReport(_ report: StackReport, accountID: String, serverID: String, now: Date) async throws {
        var stored = report
        stored.reportedAt = now
        let text = try ColumnJSON.encode(stored)
        try await write { db in
            try await db.raw("DELETE FROM stack_reports WHERE server_id = \(bind: serverID) AND account_id = \(bind: accountID)").run()
            try await db.raw(
                """
                INSERT INTO stack_reports (server_id, account_id, report, reported_at)
                VALUES (\(bind: serverID), \(bind: accountID), \(bind: text), \(bind: now.millisecondsSince1970))
                """
            ).run()
        }
    }

    public func stackReport(accountID: String, serverID: String) async throws -> StackReport? {
        try await read { db in
            let row = try await db.raw(
                "SELECT report FROM stack_reports WHERE server_id = \(bind: serverID) AND account_id = \(bind: accountID)"
            ).first()
            return try row.map { try $0.document("report", as: StackReport.self) }
        }
    }
}
