import BackupCore
import Foundation
import HummingbirdBcrypt
import NIOPosix
import Store

/// Creates accounts and their first credentials; used by `mzpanel admin` and by tests.
public struct AccountProvisioning: Sendable {
    public let store: any HubStore
    public let clock: any HubClock
    public let bcryptCost: UInt8

    public init(store: any HubStore, clock: any HubClock = SystemClock(), bcryptCost: UInt8 = 12) {
        self.store = store
        self.clock = clock
        self.bcryptCost = bcryptCost
    }

    public struct Created: Sendable, Encodable {
        public let account: Account
        public let email: String
        /// The API token's secret, shown once.
        public let apiToken: String
    }

    /// Creates an account with a user (when a password is given) and a first API token.
    public func createAccount(email rawEmail: String, plan: Plan, password: String?, name: String? = nil) async throws -> Created {
        let email = try User.validatedEmail(rawEmail)
        let now = clock.now()
        let account = Account(id: ResourceID.make(.account), name: name ?? email, plan: plan, createdAt: now)
        var user: User?
        if let password {
            try User.validatePassword(password)
            let hash = try await hashPassword(password)
            user = User(id: ResourceID.make(.user), accountID: account.id, email: email, passwordHash: hash, createdAt: now)
        }
        if user == nil, try await store.user(email: email) != nil {
            throw DomainError.conflict("email", "an account with the email \(email) already exists")
        }
        try await store.createAccount(
            account, user: user ?? User(id: ResourceID.make(.user), accountID: account.id, email: email, passwordHash: "!", createdAt: now))
        let secret = try await issueAPIToken(accountID: account.id, name: "created with the account").secret
        return Created(account: account, email: email, apiToken: secret)
    }

    /// Issues an API token; the secret is returned once and stored only as a hash.
    public func issueAPIToken(accountID: String, name: String) async throws -> (token: APIToken, secret: String) {
        let secret = Secrets.make(prefix: Secrets.apiTokenPrefix)
        let token = APIToken(
            id: ResourceID.make(.apiToken), accountID: accountID, name: name, prefix: String(secret.prefix(10)), createdAt: clock.now())
        try await store.createAPIToken(token, hash: Secrets.hash(secret))
        return (token, secret)
    }

    func hashPassword(_ password: String) async throws -> String {
        let cost = bcryptCost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Checks a password against a stored bcrypt hash off the event loop. "!" never matches.
    public static func verify(_ password: String, hash: String) async throws -> Bool {
        guard hash != "!" else { return false }
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
