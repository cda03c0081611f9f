import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import Hummingbird
import Store

/// Log in and out, the account, and API tokens.
struct AccountRoutes {
    let hub: HubServices

    func register(on api: inout APIRouter) {
        api.on(
            .post, "/api/v1/session", summary: "Log in with email and password (sets the session cookie)", tag: "account",
            authenticated: false, body: "LoginRequest", response: "LoginResponse", status: 201, login)
        api.on(
            .delete, "/api/v1/session", summary: "Log out (ends the session)", tag: "account", authenticated: false,
            response: "Deleted", logout)
        api.on(.get, "/api/v1/account", summary: "The caller's account and plan", tag: "account", response: "AccountView", account)
        api.on(
            .get, "/api/v1/tokens", summary: "List API tokens (secrets are never shown again)", tag: "account", scope: .admin,
            response: "TokenList", tokens)
        api.on(
            .post, "/api/v1/tokens", summary: "Create an API token; the secret is in this response only", tag: "account", scope: .admin,
            body: "TokenRequest", response: "TokenCreated", status: 201, createToken)
        api.on(
            .delete, "/api/v1/tokens/{token}", summary: "Revoke an API token", tag: "account", scope: .admin, response: "Deleted", revokeToken)
    }

    @Sendable func login(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let body = try await request.decodeJSON(LoginRequest.self, context: context)
        let outcome = try await LoginService(hub: hub).attempt(
            email: body.email, password: body.password, code: body.code, address: context.clientAddress)
        if case .throttled(let seconds) = outcome { throw LoginService.throttledError(seconds) }
        if case .codeNeeded = outcome {
            throw APIError(
                .unauthorized, code: "two_factor_required", "this member signs in with a two-factor code: send code (or a recovery code) too")
        }
        if case .wrongCode = outcome {
            throw APIError(.unauthorized, code: "wrong_code", "the two-factor code is wrong or was used already; type the code the app shows now")
        }
        guard case .loggedIn(let user) = outcome, let account = try await hub.store.account(id: user.accountID) else {
            throw APIError(.unauthorized, code: "unauthorized", "the email or the password is wrong")
        }
        let (secret, session) = try await hub.startSession(user: user)
        await hub.audit(
            accountID: user.accountID, caller: nil, actor: user.email, action: "Log in", method: "POST",
            path: "/api/v1/session", status: 201, resourceID: nil, address: context.clientAddress)
        var response = try JSONBody(LoginResponse(account: account, email: user.email, expiresAt: session.expiresAt), status: .created)
            .response(from: request, context: context)
        response.setCookie(hub.sessionCookie(secret, expires: session.expiresAt))
        return response
    }

    @Sendable func logout(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        if let secret = request.cookies[Authenticator.sessionCookie]?.value {
            try await hub.store.deleteSession(hash: Secrets.hash(secret))
        }
        var response = try JSONBody(Deleted()).response(from: request, context: context)
        response.setCookie(hub.sessionCookie("", expires: nil))
        return response
    }

    @Sendable func account(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        guard let account = try await hub.store.account(id: try context.accountID()) else { throw APIError.unauthorized }
        let kinds = DestinationKind.allCases.filter { account.plan.allows($0) }
        return JSONBody(AccountView(account: account, plan: PlanView(name: account.plan, title: account.plan.title, destinationKinds: kinds)))
    }

    @Sendable func tokens(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        JSONBody(TokenList(tokens: try await TokenService(hub: hub).list(accountID: try context.accountID())))
    }

    @Sendable func createToken(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let accountID = try context.accountID()
        let body = try await request.decodeJSON(TokenRequest.self, context: context)
        return JSONBody(try await TokenService(hub: hub).create(body, accountID: accountID), status: .created)
    }

    @Sendable func revokeToken(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let id = try context.parameter("token")
        guard try await TokenService(hub: hub).revoke(id: id, accountID: try context.accountID()) else { throw APIError.notFound(.apiToken, id) }
        return JSONBody(Deleted())
    }
}

extension HubServices {
    /// A new session for the user: the secret for the cookie (only its hash is stored) and the session.
    func startSession(user: User) async throws -> (String, WebSession) {
        let secret = Secrets.make(prefix: Secrets.sessionPrefix)
        let now = clock.now()
        let session = WebSession(
            id: ResourceID.make(.session), accountID: user.accountID, userID: user.id, createdAt: now,
            expiresAt: now.addingTimeInterval(configuration.sessionLifetime))
        try await store.createSession(session, hash: Secrets.hash(secret))
        return (secret, session)
    }

    /// The session cookie (`HttpOnly; SameSite=Strict`, `Secure` when served over TLS); an empty value with no expiry clears it.
    func sessionCookie(_ secret: String, expires: Date?) -> Cookie {
        if let expires {
            return Cookie(
                name: Authenticator.sessionCookie, value: secret, expires: expires, path: "/",
                secure: configuration.secureCookies, httpOnly: true, sameSite: .strict)
        }
        return Cookie(
            name: Authenticator.sessionCookie, value: "", maxAge: 0, path: "/", secure: configuration.secureCookies, httpOnly: true, sameSite: .strict
        )
    }
}
