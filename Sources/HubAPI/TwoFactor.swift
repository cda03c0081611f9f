import BackupCore
import Foundation

/// `GET /api/v1/account/two-factor`: whether the caller signs in with a code, whether the account requires it.
public struct TwoFactorStatus: Codable, Sendable {
    public let enabled: Bool
    public let required: Bool
    public let recoveryCodesLeft: Int
    public init(enabled: Bool, required: Bool, recoveryCodesLeft: Int) {
        self.enabled = enabled
        self.required = required
        self.recoveryCodesLeft = recoveryCodesLeft
    }
}

/// `POST /api/v1/account/two-factor`: a new TOTP secret to put in an authenticator app, confirmed by its first code.
public struct TwoFactorEnrolment: Codable, Sendable {
    /// The shared secret in base32 (type it into the app if it cannot read the QR code).
    public let secret: String
    /// The `otpauth://totp/…` URI an authenticator app reads.
    public let uri: String
    /// The QR code of `uri`, an SVG document drawn by the hub.
    public let qrSVG: String?
    public init(secret: String, uri: String, qrSVG: String? = nil) {
        self.secret = secret
        self.uri = uri
        self.qrSVG = qrSVG
    }
}

/// A code from the authenticator app (or, to turn two-factor off, a recovery code).
public struct TwoFactorCode: Codable, Sendable {
    public let code: String
    public init(code: String) { self.code = code }
}

/// Two-factor sign-in is on: the ten one-time recovery codes, shown this once.
public struct TwoFactorEnabled: Codable, Sendable {
    public let recoveryCodes: [String]
    public init(recoveryCodes: [String]) { self.recoveryCodes = recoveryCodes }
}

/// `PUT /api/v1/account/two-factor-policy`: whether every member must sign in with a code (owners).
public struct TwoFactorPolicy: Codable, Sendable {
    public let required: Bool
    public init(required: Bool) { self.required = required }
}
