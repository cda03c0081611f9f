import BackupCore
import Foundation
import Sealing

/// The signature section of a job or destination page (docs/sealing.md, "Signed manifests"):
/// the state in words and, when agents would refuse it, the form that signs it in the browser.
struct SignatureView {
    let kind: String
    let id: String
    let accountID: String
    let state: String
    let label: String
    let signed: Bool
    let off: Bool
    let needed: Bool
    let changed: Bool

    init(kind: String, id: String, accountID: String, state: ManifestState) {
        self.kind = kind
        self.id = id
        self.accountID = accountID
        self.state = state.rawValue
        label = Self.label(state)
        signed = state == .signed
        off = state == .off
        needed = state == .unsigned || state == .changed
        changed = state == .changed
    }

    static func label(_ state: ManifestState) -> String {
        switch state {
        case .off: "trust mode off"
        case .unsigned: "not signed"
        case .changed: "changed since signed"
        case .signed: "signed"
        }
    }

    static func job(_ job: Job, pages: WebPages) async throws -> SignatureView {
        let key = try await ManifestService(hub: pages.hub).accountKey(accountID: job.accountID)
        return SignatureView(kind: "job", id: job.id, accountID: job.accountID, state: ManifestSignature.state(of: job, accountKey: key))
    }

    static func destination(_ destination: Destination, pages: WebPages) async throws -> SignatureView {
        let key = try await ManifestService(hub: pages.hub).accountKey(accountID: destination.accountID)
        return SignatureView(
            kind: "destination", id: destination.id, accountID: destination.accountID,
            state: ManifestSignature.state(of: destination, accountKey: key))
    }
}
