import BackupCore
import Foundation
import Sealing
import Store

/// Stores the manifests people sign in their browser or CLI (docs/sealing.md, "Signed
/// manifests"). The hub cannot sign; it checks a manifest before storing it only so a mistaken
/// client hears about it at once instead of at the next run, and tells people the state.
struct ManifestService {
    let hub: HubServices

    /// The account's public signing key, or nil while the account has none (trust mode off).
    func accountKey(accountID: String) async throws -> Data? {
        try await hub.store.vault(accountID: accountID)?.signingKey.flatMap { Data(base64Encoded: $0) }
    }

    /// `manifest` when it verifies, is `job` exactly and is newer than `previous`; throws the reason otherwise.
    func checked(_ manifest: SignedManifest, for job: Job, replacing previous: SignedManifest?) async throws -> SignedManifest {
        let (signed, key) = try await verified(
            manifest, as: JobManifest.self, for: job, accountID: job.accountID, what: "job \(job.name)",
            again: "fetch the job again and sign what it holds")
        try checkNewer(signed.version, than: previous, as: JobManifest.self, key: key, same: manifest)
        return manifest
    }

    /// The signed document when `manifest` verifies under the account key and vouches for
    /// `subject` exactly (a job, a destination, a restore run); the reason otherwise.
    func verified<Document: SubjectManifest>(
        _ manifest: SignedManifest, as type: Document.Type, for subject: Document.Subject, accountID: String, what: String, again: String
    ) async throws -> (document: Document, key: Data) {
        let key = try await requireKey(accountID: accountID)
        let signed = try open(manifest, as: type, key: key, what: what)
        let changed = signed.differences(from: subject)
        guard changed.isEmpty else {
            throw DomainError.invalid(
                "manifest", "the manifest does not match \(what) as the hub holds it (\(changed.joined(separator: ", "))); \(again)")
        }
        return (signed, key)
    }

    func sign(_ job: Job, with manifest: SignedManifest) async throws -> Job {
        try Access.require(.editJobs)
        _ = try await checked(manifest, for: job, replacing: job.manifest)
        guard try await hub.store.setJobManifest(accountID: job.accountID, id: job.id, manifest: manifest, unchangedSince: job.updatedAt) else {
            throw DomainError.conflict("manifest", "job \(job.name) changed while it was being signed; fetch it again and sign it")
        }
        try await hub.notifyAgent(serverID: job.serverID, accountID: job.accountID)
        var result = job
        result.manifest = manifest
        return result
    }

    func sign(_ destination: Destination, with manifest: SignedManifest) async throws -> Destination {
        try Access.require(.editDestinations)
        let (signed, key) = try await verified(
            manifest, as: DestinationManifest.self, for: destination, accountID: destination.accountID,
            what: "destination \(destination.name)", again: "fetch it again and sign what it holds")
        try checkNewer(signed.version, than: destination.manifest, as: DestinationManifest.self, key: key, same: manifest)
        guard
            try await hub.store.setDestinationManifest(
                accountID: destination.accountID, id: destination.id, manifest: manifest, unchangedSince: destination.updatedAt)
        else {
            throw DomainError.conflict("manifest", "destination \(destination.name) changed while it was being signed; fetch it again and sign it")
        }
        for job in try await hub.store.jobs(accountID: destination.accountID, serverID: nil, destinationID: destination.id) {
            try await hub.notifyAgent(serverID: job.serverID, accountID: job.accountID)
        }
        var result = destination
        result.manifest = manifest
        return result
    }

    private func requireKey(accountID: String) async throws -> Data {
        guard let key = try await accountKey(accountID: accountID) else {
            throw DomainError(
                .conflict, field: "manifest",
                "this account has no signing key yet: create the vault (add an offsite destination) or unlock it once in the browser or CLI",
                reason: "no_signing_key")
        }
        return key
    }

    private func open<Document: Decodable>(_ manifest: SignedManifest, as type: Document.Type, key: Data, what: String) throws -> Document {
        let manifest = try manifest.validated()
        switch ManifestSignature.open(manifest, as: type, accountKey: key) {
        case .success(let document): return document
        case .failure(.badSignature):
            throw DomainError.invalid(
                "manifest.signature",
                "the signature of \(what)'s manifest does not verify under this account's signing key (\(KeyFingerprint.of(key)))")
        case .failure(.unreadable):
            throw DomainError.invalid("manifest.body", "\(what)'s manifest is not a \(Document.self) document")
        }
    }

    /// A new manifest must be newer than the stored one (agents refuse older versions), unless it is the same.
    private func checkNewer<Document: VersionedManifest>(
        _ version: Int64, than stored: SignedManifest?, as type: Document.Type, key: Data, same manifest: SignedManifest
    ) throws {
        guard let stored, stored != manifest, case .success(let previous) = ManifestSignature.open(stored, as: type, accountKey: key),
            previous.version >= version
        else { return }
        throw DomainError.conflict(
            "manifest",
            "version \(version) is not newer than the signed version \(previous.version); sign again (clients number versions by their clock)")
    }
}
