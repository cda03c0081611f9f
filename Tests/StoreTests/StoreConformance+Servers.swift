import BackupCore
import Foundation
import Store
import Testing

@Suite("Store conformance: servers and enrollment tokens")
struct ServerConformanceTests {
    @Test(arguments: StoreKind.tested)
    func serversAreFoundByIDAndName(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("servers")
            let web = try await seed.server(account, "web1")
            let db = try await seed.server(account, "db1")

            #expect(try await store.server(accountID: account.id, reference: web.id) == web)
            #expect(try await store.server(accountID: account.id, reference: "web1") == web)
            #expect(try await store.server(accountID: account.id, reference: "web2") == nil)
            #expect(try await store.server(accountID: account.id, reference: ResourceID.make(.server)) == nil)
            #expect(try await store.servers(accountID: account.id) == [db, web], "servers are listed by name")
        }
    }

    /// The fleet listing decodes rows its own way on PostgreSQL (by static type): every column of an
    /// enrolled server reads back as the single-server read, which goes through SQLKit, has it.
    @Test(arguments: StoreKind.tested)
    func theFleetListingReadsEveryColumnAsTheSingleReadDoes(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("columns")
            var server = try await seed.server(account, "web1")
            try await seed.server(account, "bare")
            server.publicKey = "pk-web1"
            server.keyFingerprint = "fp-web1"
            server.agentVersion = "mzpanel-agent/9.9.9"
            server.enrolledAt = StoreSeed.at(5)
            server.lastSeenAt = StoreSeed.at(6)
            server.maxConcurrentRuns = 3
            try await store.updateServer(server)
            try await store.touchServer(id: server.id, at: StoreSeed.at(7), agentVersion: nil, capabilities: ["docker", "mysql"])
            #expect(try await store.certifyServer(accountID: account.id, id: server.id, publicKey: "pk-web1", certificate: "cert-web1"))

            let single = try #require(try await store.server(accountID: account.id, reference: server.id))
            #expect(single.capabilities == ["docker", "mysql"] && single.certificate == "cert-web1" && single.maxConcurrentRuns == 3)
            let listed = try await store.servers(accountID: account.id)
            #expect(listed.map(\.name) == ["bare", "web1"])
            #expect(listed.last == single)
            #expect(listed.first == (try await store.server(accountID: account.id, reference: "bare")))
        }
    }

    @Test(arguments: StoreKind.tested)
    func serverNamesAreUniquePerAccount(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("unique")
            let other = try await seed.account("other")
            let web = try await seed.server(account, "web1")
            let db = try await seed.server(account, "db1")

            await expectDomainError(.conflict, field: "name") {
                try await store.createServer(Server(id: ResourceID.make(.server), accountID: account.id, name: "web1", createdAt: StoreSeed.t0))
            }
            // Another account may use the same name.
            try await seed.server(other, "web1")

            var renamed = db
            renamed.name = "web1"
            await expectDomainError(.conflict, field: "name") { try await store.updateServer(renamed) }
            #expect(try await store.server(accountID: account.id, reference: db.id)?.name == "db1")

            renamed.name = "db2"
            try await store.updateServer(renamed)
            #expect(try await store.server(accountID: account.id, reference: "db2") == renamed)
            // Saving a server under its own name is no conflict.
            try await store.updateServer(web)
        }
    }

    @Test(arguments: StoreKind.tested)
    func enrollmentFieldsRoundTrip(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("enrolled")
            var server = try await seed.server(account, "web1")
            server.publicKey = "bXlwdWJsaWNrZXk="
            server.keyFingerprint = "SHA256:abc"
            server.agentVersion = "1.2.3"
            server.enrolledAt = StoreSeed.at(10)
            server.lastSeenAt = StoreSeed.at(20)
            try await store.updateServer(server)
            #expect(try await store.server(accountID: account.id, reference: server.id) == server)
        }
    }

    @Test(arguments: StoreKind.tested)
    func deletingAServerCascadesAndReportsExposedDestinations(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("cascade")
            let doomed = try await seed.server(account, "doomed")
            let kept = try await seed.server(account, "kept")
            let nas = try await seed.destination(account, "nas")
            let s3 = try await seed.destination(
                account, "offsite", kind: .s3, settings: DestinationSettings(endpoint: "https://s3.example.com", bucket: "backups"))
            let unsealed = try await seed.destination(account, "unsealed")
            let doomedJob = try await seed.job(account, doomed, "site", destinations: [nas, s3])
            let keptJob = try await seed.job(account, kept, "site", destinations: [nas])
            for destination in [nas, s3] {
                try await store.putEnvelope(
                    SealedEnvelope(
                        accountID: account.id, destinationID: destination.id, serverID: doomed.id, keyID: "k", version: 1,
                        ciphertext: Data([1, 2, 3]), createdAt: StoreSeed.t0))
            }
            try await store.putEnvelope(
                SealedEnvelope(
                    accountID: account.id, destinationID: nas.id, serverID: kept.id, keyID: "k", version: 1, ciphertext: Data([4]),
                    createdAt: StoreSeed.t0))
            let token = EnrollmentToken(
                id: ResourceID.make(.enrollmentToken), accountID: account.id, serverID: doomed.id, createdAt: StoreSeed.t0,
                expiresAt: StoreSeed.at(3600))
            try await store.createEnrollmentToken(token, hash: "enroll-doomed")
            let run = try await seed.run(doomedJob, createdAt: StoreSeed.at(5))

            let exposed = try #require(try await store.deleteServer(accountID: account.id, id: doomed.id))
            #expect(exposed.map(\.id) == [nas.id, s3.id], "the destinations sealed to the server, by name")
            #expect(!exposed.contains { $0.id == unsealed.id })

            #expect(try await store.server(accountID: account.id, reference: doomed.id) == nil)
            #expect(try await store.job(accountID: account.id, id: doomedJob.id) == nil)
            #expect(try await store.jobs(accountID: account.id, serverID: doomed.id, destinationID: nil).isEmpty)
            #expect(try await store.envelopes(accountID: account.id, serverID: doomed.id).isEmpty)
            #expect(try await store.envelopes(accountID: account.id, destinationID: s3.id).isEmpty)
            #expect(try await store.enrollmentTokens(accountID: account.id, serverID: doomed.id).isEmpty)
            #expect(try await store.consumeEnrollmentToken(hash: "enroll-doomed", now: StoreSeed.at(1)) == nil)
            #expect(try await store.jobsUsing(accountID: account.id, destinationID: s3.id).isEmpty)

            // The other server and its job and envelope are untouched; history stays.
            #expect(try await store.server(accountID: account.id, reference: kept.id) == kept)
            expectSameJob(try await store.job(accountID: account.id, id: keptJob.id), keptJob)
            #expect(try await store.envelopes(accountID: account.id, destinationID: nas.id).map(\.serverID) == [kept.id])
            #expect(try await store.run(accountID: account.id, id: run.id) == run)

            // The destinations are deletable now that no job of the deleted server uses them.
            #expect(try await store.deleteDestination(accountID: account.id, id: s3.id))
            #expect(try await store.deleteServer(accountID: account.id, id: doomed.id) == nil, "a second delete finds nothing")
        }
    }

    @Test(arguments: StoreKind.tested)
    func enrollmentTokensAreConsumedOnce(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("enroll")
            let server = try await seed.server(account, "web1")
            let token = EnrollmentToken(
                id: ResourceID.make(.enrollmentToken), accountID: account.id, serverID: server.id, createdAt: StoreSeed.t0,
                expiresAt: StoreSeed.at(3600))
            try await store.createEnrollmentToken(token, hash: "enroll-once")
            #expect(try await store.enrollmentTokens(accountID: account.id, serverID: server.id) == [token])

            let consumed = try #require(try await store.consumeEnrollmentToken(hash: "enroll-once", now: StoreSeed.at(10)))
            #expect(consumed.id == token.id)
            #expect(consumed.serverID == server.id)
            #expect(consumed.usedAt == StoreSeed.at(10))
            #expect(try await store.consumeEnrollmentToken(hash: "enroll-once", now: StoreSeed.at(11)) == nil, "a token enrolls once")
            #expect(try await store.enrollmentTokens(accountID: account.id, serverID: server.id).first?.usedAt == StoreSeed.at(10))
            #expect(try await store.consumeEnrollmentToken(hash: "never-issued", now: StoreSeed.at(10)) == nil)
        }
    }

    @Test(arguments: StoreKind.tested)
    func concurrentConsumersGetTheTokenOnce(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("race")
            let server = try await seed.server(account, "web1")
            let token = EnrollmentToken(
                id: ResourceID.make(.enrollmentToken), accountID: account.id, serverID: server.id, createdAt: StoreSeed.t0,
                expiresAt: StoreSeed.at(3600))
            try await store.createEnrollmentToken(token, hash: "enroll-race")
            let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await store.consumeEnrollmentToken(hash: "enroll-race", now: StoreSeed.at(10)) != nil }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(winners >= 1)
            #expect(winners == 1, "a token enrolls once, even when consumers race")
        }
    }

    @Test(arguments: StoreKind.tested)
    func expiredEnrollmentTokensDoNotEnroll(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("expired")
            let server = try await seed.server(account, "web1")
            let token = EnrollmentToken(
                id: ResourceID.make(.enrollmentToken), accountID: account.id, serverID: server.id, createdAt: StoreSeed.t0,
                expiresAt: StoreSeed.at(60))
            try await store.createEnrollmentToken(token, hash: "enroll-expired")
            #expect(try await store.consumeEnrollmentToken(hash: "enroll-expired", now: StoreSeed.at(60)) == nil)
            #expect(try await store.consumeEnrollmentToken(hash: "enroll-expired", now: StoreSeed.at(61)) == nil)
            #expect(try await store.enrollmentTokens(accountID: account.id, serverID: server.id).first?.usedAt == nil)
        }
    }

    @Test(arguments: StoreKind.tested)
    func enrollmentTokensAreListedAndWithdrawn(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("withdraw")
            let server = try await seed.server(account, "web1")
            let other = try await seed.server(account, "web2")
            let first = EnrollmentToken(
                id: ResourceID.make(.enrollmentToken), accountID: account.id, serverID: server.id, createdAt: StoreSeed.t0,
                expiresAt: StoreSeed.at(3600))
            let second = EnrollmentToken(
                id: ResourceID.make(.enrollmentToken), accountID: account.id, serverID: server.id, createdAt: StoreSeed.at(1),
                expiresAt: StoreSeed.at(3600))
            let elsewhere = EnrollmentToken(
                id: ResourceID.make(.enrollmentToken), accountID: account.id, serverID: other.id, createdAt: StoreSeed.t0,
                expiresAt: StoreSeed.at(3600))
            try await store.createEnrollmentToken(first, hash: "e1")
            try await store.createEnrollmentToken(second, hash: "e2")
            try await store.createEnrollmentToken(elsewhere, hash: "e3")
            #expect(try await store.enrollmentTokens(accountID: account.id, serverID: server.id) == [first, second])

            #expect(try await store.deleteEnrollmentToken(accountID: account.id, id: first.id))
            #expect(try await store.deleteEnrollmentToken(accountID: account.id, id: first.id) == false)
            #expect(try await store.enrollmentTokens(accountID: account.id, serverID: server.id) == [second])
            #expect(try await store.consumeEnrollmentToken(hash: "e1", now: StoreSeed.at(5)) == nil, "a withdrawn token cannot enroll")
        }
    }
}
