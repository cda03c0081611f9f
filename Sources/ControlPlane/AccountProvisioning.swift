import BackupCore
import Foundation
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
        let owner = user ?? User(id: ResourceID.make(.user), accountID: account.id, email: email, passwordHash: "!", createdAt: now)
        try await store.createAccount(account, user: owner)
        let secret = try await issueAPIToken(accountID: account.id, userID: owner.id, name: "created with the account", scope: .admin).secret
        return Created(account: account, email: email, apiToken: secret)
    }

    /// Issues an API token; the secret is returned once and stored only as a hash.
    public func issueAPIToken(accountID: String, userID: String?, name: String, scope: TokenScope, lifetime: TimeInterval? = nil) async throws -> (
        token: APIToken, secret: String
    ) {
        let secret = Secrets.make(prefix: Secrets.apiTokenPrefix)
        let now = clock.now()
        let token = APIToken(
            id: ResourceID.make(.apiToken), accountID: accountID, name: name, prefix: String(secret.prefix(10)), scope: scope, createdAt: now,
            expiresAt: lifetime.map { now.addingTimeInterval($0) }, userID: userID)
        try await store.createAPIToken(token, hash: Secrets.hash(secret))
        return (token, secret)
    }

    func hashPassword(_ password: String) async throws -> String {
        try await PasswordHasher.shared.hash(password, cost: bcryptCost)
    }
}
