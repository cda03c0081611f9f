import BackupCore
import Foundation
import HubAPI
import Store

/// Two-factor sign-in (TOTP) as use cases: set up (a secret, confirmed by a first code, answered
/// with ten recovery codes), turn off, check a code at sign-in (each code once), and the owner's
/// policy that every member must use it.
struct TwoFactorService {
    let hub: HubServices

    func status(member: User) async throws -> TwoFactorStatus {
        let state = try await hub.store.twoFactor(userID: member.id)
        return TwoFactorStatus(
            enabled: state.enabled, required: try await hub.store.twoFactorRequired(accountID: member.accountID),
            recoveryCodesLeft: state.recoveryHashes.count)
    }

    /// A new secret for the member's app; it takes effect once `confirm` gets a code it made.
    func begin(member: User) async throws -> TwoFactorEnrolment {
        try Access.require(.ownCredentials)
        if try await hub.store.twoFactor(userID: member.id).enabled {
            throw DomainError.conflict("code", "two-factor sign-in is already on; turn it off first to set up a new app")
        }
        let secret = TOTP.newSecret()
        try await hub.store.setPendingTwoFactor(userID: member.id, secret: secret)
        let uri = TOTP.uri(secret: secret, account: member.email)
        return TwoFactorEnrolment(secret: secret, uri: uri, qrSVG: QRCode(uri)?.svg())
    }

    /// Turns two-factor sign-in on when `code` is the app's current code: answers the recovery codes (shown once).
    func confirm(member: User, code: String) async throws -> TwoFactorEnabled {
        try Access.require(.ownCredentials)
        let state = try await hub.store.twoFactor(userID: member.id)
        guard let pending = state.pending else {
            throw DomainError.conflict("code", "no two-factor set-up is waiting; start one (mzpanel two-factor enable, or the account page)")
        }
        guard let step = TOTP.matchingStep(code, secret: pending, at: hub.clock.now(), after: nil) else {
            throw DomainError.invalid("code", "that is not the app's current 6-digit code; check the phone's clock and type the code shown now")
        }
        let codes = TOTP.recoveryCodes()
        try await hub.store.setTwoFactor(userID: member.id, secret: pending, step: step, recoveryHashes: codes.map(Secrets.hash))
        return TwoFactorEnabled(recoveryCodes: codes)
    }

    /// Turns two-factor sign-in off with a current code or a recovery code; refused while the account requires it.
    func disable(member: User, code: String) async throws {
        try Access.require(.ownCredentials)
        if try await hub.store.twoFactorRequired(accountID: member.accountID) {
            throw DomainError.conflict("code", "this account requires two-factor sign-in for every member; an owner can change that")
        }
        guard try await verify(member: member, code: code) else {
            throw DomainError.invalid("code", "that is neither the app's current code nor an unused recovery code")
        }
        try await hub.store.setTwoFactor(userID: member.id, secret: nil, step: nil, recoveryHashes: [])
    }

    /// Whether every member must sign in with a code (owners change it).
    func setRequired(_ required: Bool, accountID: String) async throws {
        try Access.require(.manageMembers)
        try await hub.store.setTwoFactorRequired(accountID: accountID, required: required)
    }

    /// Checks a sign-in code: a TOTP code within one step of now, newer than the last used, or an unused recovery code
    /// (which is then spent).
    func verify(member: User, code: String) async throws -> Bool {
        let state = try await hub.store.twoFactor(userID: member.id)
        guard let secret = state.secret else { return false }
        if let step = TOTP.matchingStep(code, secret: secret, at: hub.clock.now(), after: state.lastStep) {
            return try await hub.store.useTwoFactorStep(userID: member.id, step: step)
        }
        let recovery = TOTP.normalizedRecoveryCode(code)
        guard recovery.count == 11 else { return false }
        return try await hub.store.useRecoveryCode(userID: member.id, hash: Secrets.hash(recovery))
    }
}
