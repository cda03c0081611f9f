import BackupCore
import Foundation
import Store
import Testing

@Suite("Store conformance: destinations and sealed envelopes")
struct DestinationConformanceTests {
    @Test(arguments: StoreKind.tested)
    func destinationsRoundTripWithTheirSettings(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("dest")
            let settings = DestinationSettings(
                path: nil, endpoint: "https://s3.eu-central-1.amazonaws.com", bucket: "acme-backups", prefix: "hub/a",
                region: "eu-central-1", pathStyle: true, remote: nil, peerServerID: nil)
            let s3 = try await seed.destination(account, "offsite", kind: .s3, settings: settings)
            let local = try await seed.destination(account, "nas", kind: .local, settings: DestinationSettings(path: "/srv/backups"))
            let rclone = try await seed.destination(account, "gdrive", kind: .rclone, settings: DestinationSettings(prefix: "x", remote: "gdrive"))

            #expect(try await store.destination(accountID: account.id, reference: s3.id) == s3)
            #expect(try await store.destination(accountID: account.id, reference: "offsite")?.settings == settings)
            #expect(try await store.destination(accountID: account.id, reference: "nas") == local)
            #expect(try await store.destination(accountID: account.id, reference: "missing") == nil)
            #expect(try await store.destinations(accountID: account.id) == [rclone, local, s3], "listed by name")
        }
    }

    @Test(arguments: StoreKind.tested)
    func destinationsAreUpdatedAndNamesStayUnique(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("update")
            var nas = try await seed.destination(account, "nas")
            let usb = try await seed.destination(account, "usb")

            await expectDomainError(.conflict, field: "name") {
                try await store.createDestination(
                    Destination(
                        id: ResourceID.make(.destination), accountID: account.id, name: "nas", kind: .local,
                        settings: DestinationSettings(path: "/x"), createdAt: StoreSeed.t0, updatedAt: StoreSeed.t0))
            }
            nas.name = "nas2"
            nas.settings = DestinationSettings(path: "/mnt/nas2")
            nas.updatedAt = StoreSeed.at(100)
            try await store.updateDestination(nas)
            #expect(try await store.destination(accountID: account.id, reference: nas.id) == nas)

            var clash = usb
            clash.name = "nas2"
            await expectDomainError(.conflict, field: "name") { try await store.updateDestination(clash) }
            #expect(try await store.destination(accountID: account.id, reference: usb.id) == usb)
        }
    }

    @Test(arguments: StoreKind.tested)
    func aDestinationInUseCannotBeDeleted(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("inuse")
            let server = try await seed.server(account, "web1")
            let nas = try await seed.destination(account, "nas")
            let usb = try await seed.destination(account, "usb")
            let job = try await seed.job(account, server, "site", destinations: [nas, usb])
            try await store.putEnvelope(
                SealedEnvelope(
                    accountID: account.id, destinationID: nas.id, serverID: server.id, keyID: "k", version: 1, ciphertext: Data([9]),
                    createdAt: StoreSeed.t0))

            let using = try await store.jobsUsing(accountID: account.id, destinationID: nas.id)
            #expect(using.map(\.id) == [job.id])
            #expect(using.map(\.name) == ["site"])

            let error = await expectDomainError(.conflict) { _ = try await store.deleteDestination(accountID: account.id, id: nas.id) }
            #expect(error?.message.contains("site") == true, "the message names the jobs using it")
            #expect(try await store.destination(accountID: account.id, reference: nas.id) == nas)
            #expect(try await store.envelopes(accountID: account.id, destinationID: nas.id).count == 1, "a refused delete changes nothing")

            #expect(try await store.deleteJob(accountID: account.id, id: job.id))
            #expect(try await store.deleteDestination(accountID: account.id, id: nas.id))
            #expect(try await store.destination(accountID: account.id, reference: nas.id) == nil)
            #expect(try await store.envelopes(accountID: account.id, serverID: server.id).isEmpty, "its envelopes go with it")
            #expect(try await store.deleteDestination(accountID: account.id, id: nas.id) == false)
        }
    }

    @Test(arguments: StoreKind.tested)
    func envelopesArePutReplacedListedAndDeleted(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("env")
            let web = try await seed.server(account, "web1")
            let db = try await seed.server(account, "db1")
            let nas = try await seed.destination(account, "nas")
            let s3 = try await seed.destination(
                account, "s3", kind: .s3, settings: DestinationSettings(endpoint: "https://s3.example.com", bucket: "bkt"))
            // Every byte value, plus a NUL and bytes that are not UTF-8: the hub must keep ciphertext exactly.
            let bytes = Data((0...255).map(UInt8.init) + [0, 0xff, 0xfe, 0xc3, 0x28])
            let first = SealedEnvelope(
                accountID: account.id, destinationID: nas.id, serverID: web.id, keyID: "SHA256:web", version: 1, ciphertext: bytes,
                createdAt: StoreSeed.t0)
            let second = SealedEnvelope(
                accountID: account.id, destinationID: nas.id, serverID: db.id, keyID: "SHA256:db", version: 1, ciphertext: Data([1]),
                createdAt: StoreSeed.t0)
            let third = SealedEnvelope(
                accountID: account.id, destinationID: s3.id, serverID: web.id, keyID: "SHA256:web", version: 2,
                ciphertext: Data(repeating: 7, count: SealedEnvelope.maxCiphertextBytes), createdAt: StoreSeed.t0)
            for envelope in [first, second, third] { try await store.putEnvelope(envelope) }

            let forNAS = try await store.envelopes(accountID: account.id, destinationID: nas.id)
            #expect(Set(forNAS.map(\.serverID)) == [web.id, db.id])
            #expect(forNAS.first { $0.serverID == web.id } == first)
            #expect(forNAS.first { $0.serverID == web.id }?.ciphertext == bytes)
            let forWeb = try await store.envelopes(accountID: account.id, serverID: web.id)
            #expect(Set(forWeb.map(\.destinationID)) == [nas.id, s3.id])
            #expect(forWeb.first { $0.destinationID == s3.id } == third)

            let replacement = SealedEnvelope(
                accountID: account.id, destinationID: nas.id, serverID: web.id, keyID: "SHA256:web2", version: 3, ciphertext: Data([42, 0, 42]),
                createdAt: StoreSeed.at(50))
            try await store.putEnvelope(replacement)
            let replaced = try await store.envelopes(accountID: account.id, destinationID: nas.id)
            #expect(replaced.count == 2, "a put replaces the envelope for the same (destination, server)")
            #expect(replaced.first { $0.serverID == web.id } == replacement)

            #expect(try await store.deleteEnvelope(accountID: account.id, destinationID: nas.id, serverID: web.id))
            #expect(try await store.deleteEnvelope(accountID: account.id, destinationID: nas.id, serverID: web.id) == false)
            #expect(try await store.envelopes(accountID: account.id, destinationID: nas.id) == [second])
        }
    }
}
