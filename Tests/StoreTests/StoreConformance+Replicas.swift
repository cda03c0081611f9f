import Foundation
import Store
import Testing

/// Downloads across replicas: parts pass through the store, numbered, bounded and in order.
@Suite("Store conformance: download parts")
struct DownloadPartConformanceTests {
    static func part(_ sequence: Int, _ text: String, done: Bool = false, error: String? = nil) -> DownloadPart {
        DownloadPart(sequence: sequence, data: Data(text.utf8), done: done, error: error)
    }

    @Test(arguments: StoreKind.tested)
    func partsAreNumberedBoundedAndTakenInOrder(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.openDownloadTransfer(id: "dl_1", serverID: "srv_a", now: StoreSeed.t0)
            #expect(try await store.pushDownloadPart(Self.part(0, "zero"), downloadID: "dl_1", serverID: "srv_b", maxWaiting: 2) == .gone)
            #expect(try await store.pushDownloadPart(Self.part(0, "zero"), downloadID: "dl_9", serverID: "srv_a", maxWaiting: 2) == .gone)
            #expect(
                try await store.pushDownloadPart(Self.part(1, "one"), downloadID: "dl_1", serverID: "srv_a", maxWaiting: 2)
                    == .outOfOrder(expected: 0))
            #expect(try await store.pushDownloadPart(Self.part(0, "zero"), downloadID: "dl_1", serverID: "srv_a", maxWaiting: 2) == .queued)
            #expect(
                try await store.pushDownloadPart(Self.part(0, "zero"), downloadID: "dl_1", serverID: "srv_a", maxWaiting: 2)
                    == .outOfOrder(expected: 1))
            #expect(try await store.pushDownloadPart(Self.part(1, "one"), downloadID: "dl_1", serverID: "srv_a", maxWaiting: 2) == .queued)
            #expect(try await store.pushDownloadPart(Self.part(2, "two", done: true), downloadID: "dl_1", serverID: "srv_a", maxWaiting: 2) == .full)
            #expect(try await store.takeDownloadParts(downloadID: "dl_1", limit: 1) == [Self.part(0, "zero")])
            #expect(
                try await store.pushDownloadPart(Self.part(2, "two", done: true), downloadID: "dl_1", serverID: "srv_a", maxWaiting: 2) == .queued)
            #expect(try await store.takeDownloadParts(downloadID: "dl_1", limit: 4) == [Self.part(1, "one"), Self.part(2, "two", done: true)])
            #expect(try await store.takeDownloadParts(downloadID: "dl_1", limit: 4).isEmpty)
            try await store.closeDownloadTransfer(id: "dl_1")
            #expect(try await store.pushDownloadPart(Self.part(3, "late"), downloadID: "dl_1", serverID: "srv_a", maxWaiting: 2) == .gone)
        }
    }

    @Test(arguments: StoreKind.tested)
    func binaryPartsAndErrorsArriveIntact(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.openDownloadTransfer(id: "dl_2", serverID: "srv_a", now: StoreSeed.t0)
            let bytes = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
            let failed = DownloadPart(sequence: 1, data: Data(), done: false, error: "restic: file vanished")
            #expect(
                try await store.pushDownloadPart(
                    DownloadPart(sequence: 0, data: bytes, done: false, error: nil), downloadID: "dl_2", serverID: "srv_a", maxWaiting: 4) == .queued)
            #expect(try await store.pushDownloadPart(failed, downloadID: "dl_2", serverID: "srv_a", maxWaiting: 4) == .queued)
            let taken = try await store.takeDownloadParts(downloadID: "dl_2", limit: 4)
            #expect(taken.map(\.sequence) == [0, 1])
            #expect(taken.first?.data == bytes)
            #expect(taken.last == failed)
        }
    }
}

/// The login throttle's failures, shared by replicas.
@Suite("Store conformance: login failures")
struct LoginFailureConformanceTests {
    @Test(arguments: StoreKind.tested)
    func failuresAreCountedWithoutLossAndCleared(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let t0 = StoreSeed.t0
            // Twenty concurrent failures of one key (as from several replicas): none is lost.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await store.updateLoginFailures(keys: ["account:a@example.com", "address:192.0.2.1"]) { records in
                            var next = records
                            for key in ["account:a@example.com", "address:192.0.2.1"] {
                                let failures = (records[key]?.failures ?? 0) + 1
                                next[key] = LoginFailureRecord(
                                    failures: failures, lastFailure: t0, blockedUntil: t0.addingTimeInterval(Double(failures)))
                            }
                            return next
                        }
                    }
                }
                try await group.waitForAll()
            }
            let records = try await store.loginFailures(keys: ["account:a@example.com", "address:192.0.2.1", "account:other@example.com"])
            #expect(records["account:a@example.com"]?.failures == 20)
            #expect(records["address:192.0.2.1"]?.blockedUntil == t0.addingTimeInterval(20))
            #expect(records["account:other@example.com"] == nil)
            try await store.clearLoginFailures(key: "account:a@example.com")
            #expect(try await store.loginFailures(keys: ["account:a@example.com"]).isEmpty)
            try await store.forgetLoginFailures(before: t0.addingTimeInterval(1))
            #expect(try await store.loginFailures(keys: ["address:192.0.2.1"]).isEmpty)
        }
    }
}

/// Tickets any replica may be asked for (single sign-ons under way).
@Suite("Store conformance: tickets")
struct TicketConformanceTests {
    @Test(arguments: StoreKind.tested)
    func aTicketIsTakenOnceAndExpires(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let t0 = StoreSeed.t0
            try await store.putTicket(kind: "sso-state", key: "k1", payload: #"{"a":1}"#, createdAt: t0, dropBefore: t0.addingTimeInterval(-600))
            try await store.putTicket(kind: "sso-code", key: "k1", payload: "other kind", createdAt: t0, dropBefore: t0.addingTimeInterval(-600))
            #expect(try await store.ticket(kind: "sso-state", key: "k1", notBefore: t0, take: false) == #"{"a":1}"#)
            // Five replicas take it at once: one gets it.
            let taken = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<5 { group.addTask { try await store.ticket(kind: "sso-state", key: "k1", notBefore: t0, take: true) } }
                return try await group.reduce(into: [String]()) { if let found = $1 { $0.append(found) } }
            }
            #expect(taken == [#"{"a":1}"#])
            #expect(try await store.ticket(kind: "sso-code", key: "k1", notBefore: t0, take: false) == "other kind", "kinds are apart")
            #expect(try await store.ticket(kind: "sso-code", key: "k1", notBefore: t0.addingTimeInterval(1), take: false) == nil, "too old")
            try await store.deleteTicket(kind: "sso-code", key: "k1")
            #expect(try await store.ticket(kind: "sso-code", key: "k1", notBefore: t0, take: false) == nil)
            // Putting a ticket drops those older than its bound.
            try await store.putTicket(kind: "sso-state", key: "old", payload: "x", createdAt: t0, dropBefore: t0)
            try await store.putTicket(
                kind: "sso-state", key: "new", payload: "y", createdAt: t0.addingTimeInterval(700), dropBefore: t0.addingTimeInterval(100))
            #expect(try await store.ticket(kind: "sso-state", key: "old", notBefore: .distantPast, take: false) == nil)
        }
    }
}
