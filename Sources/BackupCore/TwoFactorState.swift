import Foundation

/// A member's two-factor sign-in (TOTP, RFC 6238) as stored: the shared secret (base32) once
/// confirmed, a secret being set up, the last time step used, and the recovery codes' hashes.
public struct TwoFactorState: Sendable, Equatable {
    public var secret: String?
    public var pending: String?
    public var lastStep: Int64?
    public var recoveryHashes: [String]

    public init(secret: String? = nil, pending: String? = nil, lastStep: Int64? = nil, recoveryHashes: [String] = []) {
        self.secret = secret
        self.pending = pending
        self.lastStep = lastStep
        self.recoveryHashes = recoveryHashes
    }

    public var enabled: Bool { secret != nil }
}
