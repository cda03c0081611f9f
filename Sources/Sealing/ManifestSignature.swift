import BackupCore
import Foundation

/// Signs and verifies manifests (docs/sealing.md, "Signed manifests"). Only a client that opened
/// the vault holds the signing key; agents verify with the key they pinned, the hub with the
/// vault's public key only to tell people whether a job is signed.
public enum ManifestSignature {
    static let context = Data("mzpanel-manifest/v1\n".utf8)

    /// Signs `document` (a ``JobManifest`` or ``DestinationManifest``).
    public static func sign<Document: Encodable>(_ document: Document, with key: AccountSigningKey) throws -> SignedManifest {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = try encoder.encode(document)
        return SignedManifest(body: body.base64EncodedString(), signature: try key.sign(context + body).base64EncodedString())
    }

    /// The signed document, when the signature verifies under `accountKey`; the reason otherwise.
    public static func open<Document: Decodable>(_ manifest: SignedManifest, as type: Document.Type, accountKey: Data) -> Result<
        Document, ManifestRefusal
    > {
        guard let body = manifest.bodyData, let signature = Data(base64Encoded: manifest.signature),
            AccountSigningKey.verify(signature, of: context + body, publicKey: accountKey)
        else { return .failure(.badSignature) }
        guard let document = try? JSONDecoder().decode(type, from: body) else { return .failure(.unreadable) }
        return .success(document)
    }

    /// The state people see for a job: `off` without an account key.
    public static func state(of job: Job, accountKey: Data?) -> ManifestState {
        state(of: job, signed: job.manifest, as: JobManifest.self, accountKey: accountKey)
    }

    public static func state(of destination: Destination, accountKey: Data?) -> ManifestState {
        state(of: destination, signed: destination.manifest, as: DestinationManifest.self, accountKey: accountKey)
    }

    /// `off` without an account key, `unsigned` without a manifest, `changed` when it does not
    /// verify or `subject` differs from it, else `signed`.
    static func state<Document: SubjectManifest>(
        of subject: Document.Subject, signed manifest: SignedManifest?, as type: Document.Type, accountKey: Data?
    ) -> ManifestState {
        guard let accountKey else { return .off }
        guard let manifest else { return .unsigned }
        guard case .success(let signed) = open(manifest, as: type, accountKey: accountKey), signed.differences(from: subject).isEmpty else {
            return .changed
        }
        return .signed
    }
}

/// Why a manifest was not accepted.
public enum ManifestRefusal: Error, Sendable, Equatable {
    case badSignature
    case unreadable
}
