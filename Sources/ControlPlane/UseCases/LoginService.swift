import BackupCore
import Foundation
import HTTPTypes
import Store

/// Logging in with email and password, for the web form and the API alike: throttled per email and
/// per client address, every attempt that is not refused costs one bcrypt comparison (known email
/// or not), on the password pool.
struct LoginService {
    let hub: HubServices

    enum Outcome {
        case loggedIn(User)
        case wrong
        /// The password was right and the member signs in with a code too: ask for it.
        case codeNeeded
        /// The password was right, the code was not (counted as a failed login).
        case wrongCode
        /// Too many failures: wait this many seconds.
        case throttled(Int)
    }

    func attempt(email rawEmail: String, password: String, code: String? = nil, address: String?) async throws -> Outcome {
        let email = rawEmail.trimmingSpaces.lowercased()
        if case .wait(let seconds) = try await hub.logins.check(email: email, address: address, now: hub.clock.now()) { return .throttled(seconds) }
        let user = try await hub.store.user(email: email)
        let matched = try await hub.passwords.verify(password, hash: user?.passwordHash, cost: hub.configuration.bcryptCost)
        guard let user, matched else {
            try await hub.logins.failed(email: email, address: address, now: hub.clock.now())
            return .wrong
        }
        if user.twoFactor {
            guard let code = code?.trimmingSpaces, !code.isEmpty else { return .codeNeeded }
            guard try await TwoFactorService(hub: hub).verify(member: user, code: code) else {
                try await hub.logins.failed(email: email, address: address, now: hub.clock.now())
                return .wrongCode
            }
        }
        try await hub.logins.succeeded(email: email)
        return .loggedIn(user)
    }

    /// The API's answer to a throttled login: 429 with `Retry-After`.
    static func throttledError(_ seconds: Int) -> APIError {
        var error = APIError(
            .tooManyRequests, code: "too_many_requests", "too many failed logins for this email or from this address; try again in \(seconds) s")
        error.headers[.retryAfter] = String(seconds)
        return error
    }
}
