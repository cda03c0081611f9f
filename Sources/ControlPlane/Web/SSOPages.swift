import BackupCore
import Foundation
import Hummingbird
import Store

/// Signing in with single sign-on (OpenID Connect). The login page's "Sign in with SSO" form (by
/// email) or `GET /backups/login/sso?account=ID` starts a sign-in, `/backups/join/sso?invitation=…`
/// accepts an invitation through the provider, and `/backups/sso/callback` finishes it. A random
/// `mzpanel_sso` cookie (`HttpOnly; SameSite=Lax`: it must come back on the provider's redirect)
/// binds the callback to the browser that started it. Failed callbacks count against the client's
/// address like failed logins. A member with two-factor sign-in on types their code after the provider.
struct SSOPages {
    let pages: WebPages
    var service: SSOService { SSOService(hub: pages.hub) }

    static let cookie = "mzpanel_sso"

    struct Model {
        let error: String?
        /// The provider signed the member in; their two-factor code is asked for.
        let askCode: Bool
        let csrf: String
        /// Signed in: where the page continues to (a same-site navigation, so the `SameSite=Strict` session cookie goes along).
        let next: String?
        /// The provider's authorization URL, when the page (not a redirect) sends the browser there: a form's redirect
        /// to another site would break the pages' `form-action 'self'`.
        var toProvider: String?
    }

    func register(on router: Router<HubRequestContext>) {
        router.post("/backups/login/sso") { request, _ in
            let form = try await FormData.read(request, limit: 16 * 1024)
            let email = (form["email"] ?? "").trimmingSpaces.lowercased()
            let next = LoginPages.safeNext(form["next"])
            let login = LoginPages(pages: pages)
            guard let secret = request.cookies[LoginPages.loginCookie]?.value,
                PageCaller.formCarries(form, csrf: PageCaller.csrfToken(sessionSecret: secret))
            else {
                let page = LoginPages.LoginPage(
                    error: "The login form expired or did not come from this site; try again.", email: email, next: next, csrf: "")
                return login.render(page, Secrets.make(prefix: Secrets.loginFormPrefix), true, status: .forbidden)
            }
            guard (try? User.validatedEmail(email)) != nil, let settings = try await service.settings(forEmail: email) else {
                let page = LoginPages.LoginPage(
                    error: "Single sign-on is not set up for this email; sign in with your password.", email: email, next: next, csrf: "")
                return login.render(page, secret, false, status: .badRequest)
            }
            return await start(accountID: settings.accountID, invitation: nil, loginHint: email, next: next, viaPage: true)
        }
        router.get("/backups/login/sso") { request, _ in
            let account = request.uri.queryParameters.get("account") ?? ""
            let next = LoginPages.safeNext(request.uri.queryParameters.get("next"))
            return await start(accountID: String(account.prefix(64)), invitation: nil, loginHint: nil, next: next)
        }
        router.get("/backups/join/sso") { request, _ in
            let secret = request.uri.queryParameters.get("invitation") ?? ""
            guard let invitation = try await MemberService(hub: pages.hub).invitation(secret: secret) else {
                return page(error: "This invitation link was used, has expired or was withdrawn; ask for a new one.", status: .notFound)
            }
            return await start(accountID: invitation.accountID, invitation: secret, loginHint: invitation.email, next: "/backups")
        }
        router.get("/backups/sso/callback") { request, context in
            try await callback(request, context)
        }
        router.post("/backups/sso/code") { request, context in
            try await code(request, context)
        }
    }

    /// Redirects to the provider with a new sign-in, setting the browser's binding cookie.
    func start(accountID: String, invitation: String?, loginHint: String?, next: String, viaPage: Bool = false) async -> Response {
        do {
            let (url, browser) = try await service.begin(accountID: accountID, invitation: invitation, loginHint: loginHint, next: next)
            var response =
                viaPage
                ? pages.render("sso", Model(error: nil, askCode: false, csrf: "", next: nil, toProvider: url)) : WebResponses.redirect(url)
            response.setCookie(cookie(browser, maxAge: Int(SSOLogins.lifetime)))
            return response
        } catch {
            return page(error: Self.sentence(error.description), status: .badRequest)
        }
    }

    func callback(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let now = pages.hub.clock.now()
        if case .wait(let seconds) = try await pages.hub.logins.check(address: context.clientAddress, now: now) {
            var response = page(error: "Too many failed sign-ins; try again in \(seconds) seconds.", status: .tooManyRequests)
            response.headers[.retryAfter] = String(seconds)
            return response
        }
        let query = request.uri.queryParameters
        let state = String((query.get("state") ?? "").prefix(256))
        let browser = request.cookies[Self.cookie]?.value
        if let error = query.get("error") {
            let pending = try await pages.hub.ssoLogins.take(state: state, now: now)
            try await pages.hub.logins.failed(address: context.clientAddress, now: now)
            let code = String(error.filter { $0.isLetter || $0 == "_" }.prefix(40))
            if let accountID = pending?.accountID { await audit(accountID, "Single sign-on refused by the provider (\(code))", context, status: 401) }
            return page(error: "The identity provider did not sign you in (\(code)). Start again from the login page.", status: .unauthorized)
        }
        let member: User
        let next: String
        let joined: Bool
        do {
            (member, next, joined) = try await service.finish(
                state: state, code: String((query.get("code") ?? "").prefix(2048)), issuer: query.get("iss"), browser: browser)
        } catch let refused as SSOService.Refused {
            try await pages.hub.logins.failed(address: context.clientAddress, now: now)
            if let accountID = refused.accountID { await audit(accountID, "Single sign-on refused: \(refused.description)", context, status: 401) }
            var response = page(error: Self.sentence(refused.description), status: .unauthorized)
            response.setCookie(cookie("", maxAge: 0))
            return response
        } catch let error as DomainError {
            try await pages.hub.logins.failed(address: context.clientAddress, now: now)
            return page(error: Self.sentence(error.message), status: .conflict)
        }
        if joined {
            await audit(
                member.accountID, "Join the account as \(member.role.rawValue) through single sign-on", context, status: 200, actor: member.email,
                resource: member.id)
        }
        if member.twoFactor {
            let ticket = Secrets.make(prefix: Secrets.ssoPrefix)
            try await pages.hub.ssoLogins.awaitCode(
                ticket: Secrets.hash(ticket), SSOLogins.AwaitingCode(userID: member.id, browser: Secrets.hash(ticket), next: next, createdAt: now))
            var response = pages.render("sso", Model(error: nil, askCode: true, csrf: PageCaller.csrfToken(sessionSecret: ticket), next: nil))
            response.setCookie(cookie(ticket, maxAge: Int(SSOLogins.lifetime)))
            return response
        }
        return try await signIn(member, next: next, context)
    }

    /// The code step after the provider, for a member with two-factor sign-in on.
    func code(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let now = pages.hub.clock.now()
        let form = try await FormData.read(request, limit: 4096)
        guard let ticket = request.cookies[Self.cookie]?.value, PageCaller.formCarries(form, csrf: PageCaller.csrfToken(sessionSecret: ticket)),
            let waiting = try await pages.hub.ssoLogins.awaiting(ticket: Secrets.hash(ticket), now: now),
            let member = try await pages.store.user(id: waiting.userID)
        else {
            return page(error: "This sign-in expired or did not come from this site; start it again from the login page.", status: .forbidden)
        }
        func again(_ error: String, status: HTTPResponse.Status) -> Response {
            pages.render("sso", Model(error: error, askCode: true, csrf: PageCaller.csrfToken(sessionSecret: ticket), next: nil), status: status)
        }
        if case .wait(let seconds) = try await pages.hub.logins.check(email: member.email, address: context.clientAddress, now: now) {
            var response = again("Too many failed sign-ins; try again in \(seconds) seconds.", status: .tooManyRequests)
            response.headers[.retryAfter] = String(seconds)
            return response
        }
        let typed = (form["code"] ?? "").trimmingSpaces
        guard !typed.isEmpty, try await TwoFactorService(hub: pages.hub).verify(member: member, code: typed) else {
            try await pages.hub.logins.failed(email: member.email, address: context.clientAddress, now: now)
            return again("The two-factor code is wrong or was used already; type the code the app shows now.", status: .unauthorized)
        }
        try await pages.hub.logins.succeeded(email: member.email)
        try await pages.hub.ssoLogins.finish(ticket: Secrets.hash(ticket))
        return try await signIn(member, next: waiting.next, context)
    }

    /// Starts the member's session and continues to `next` from a page of this site.
    func signIn(_ member: User, next: String, _ context: HubRequestContext) async throws -> Response {
        let (sessionSecret, session) = try await pages.hub.startSession(user: member)
        await audit(member.accountID, "Log in with single sign-on", context, status: 200, actor: member.email, resource: member.id)
        var response = pages.render("sso", Model(error: nil, askCode: false, csrf: "", next: LoginPages.safeNext(next)))
        response.setCookie(pages.hub.sessionCookie(sessionSecret, expires: session.expiresAt))
        response.setCookie(cookie("", maxAge: 0))
        return response
    }

    func audit(_ accountID: String, _ action: String, _ context: HubRequestContext, status: Int, actor: String? = nil, resource: String? = nil)
        async
    {
        await pages.hub.audit(
            accountID: accountID, caller: nil, actor: actor ?? "single sign-on", action: action, method: "GET", path: "/backups/sso/callback",
            status: status, resourceID: resource, address: context.clientAddress)
    }

    func page(error: String, status: HTTPResponse.Status) -> Response {
        pages.render("sso", Model(error: error, askCode: false, csrf: "", next: nil), status: status)
    }

    func cookie(_ value: String, maxAge: Int) -> Cookie {
        Cookie(
            name: Self.cookie, value: value, maxAge: maxAge, path: "/backups/sso", secure: pages.hub.configuration.secureCookies, httpOnly: true,
            sameSite: .lax)
    }

    /// A message as a sentence: capital first letter, full stop.
    static func sentence(_ text: String) -> String {
        let body = text.prefix(1).uppercased() + text.dropFirst()
        return body.hasSuffix(".") ? body : body + "."
    }
}
