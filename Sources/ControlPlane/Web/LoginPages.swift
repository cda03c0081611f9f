import BackupCore
import Foundation
import Hummingbird
import Store

/// Log in and out of the web hub. The login form carries its own CSRF token: before a session
/// exists, `GET /backups/login` sets a random `mzpanel_login` cookie (`HttpOnly; SameSite=Strict`)
/// and the form holds an HMAC of it, so a cross-site page can neither submit the form with a known
/// token nor log a victim into the attacker's account. Attempts are throttled (`LoginService`).
struct LoginPages {
    let pages: WebPages

    static let loginCookie = "mzpanel_login"

    struct LoginPage {
        let error: String?
        let email: String
        let next: String
        let csrf: String
        /// The password was right; the member signs in with a code too.
        var askCode = false
    }

    func register(on router: Router<HubRequestContext>) {
        router.get("/backups/login") { request, _ in
            let (secret, isNew) = Self.loginSecret(request)
            return render(LoginPage(error: nil, email: "", next: Self.safeNext(request.uri.queryParameters.get("next")), csrf: ""), secret, isNew)
        }
        router.post("/backups/login") { request, context in
            let form = try await FormData.read(request, limit: 16 * 1024)
            let email = (form["email"] ?? "").trimmingSpaces.lowercased()
            let next = Self.safeNext(form["next"])
            guard let secret = request.cookies[Self.loginCookie]?.value,
                PageCaller.formCarries(form, csrf: PageCaller.csrfToken(sessionSecret: secret))
            else {
                let fresh = Secrets.make(prefix: Secrets.loginFormPrefix)
                let page = LoginPage(
                    error: "The login form expired or did not come from this site; enter your password again.", email: email, next: next, csrf: "")
                return render(page, fresh, true, status: .forbidden)
            }
            let password = form.pairs.first(where: { $0.0 == "password" })?.1 ?? ""
            let code = form["code"]
            switch try await LoginService(hub: pages.hub).attempt(email: email, password: password, code: code, address: context.clientAddress) {
            case .codeNeeded:
                var page = LoginPage(
                    error: "Enter your password again with the 6-digit code your authenticator app shows (or a recovery code).", email: email,
                    next: next, csrf: "")
                page.askCode = true
                return render(page, secret, false, status: .unauthorized)
            case .wrongCode:
                var page = LoginPage(
                    error: "The two-factor code is wrong or was used already; type the code the app shows now.", email: email, next: next,
                    csrf: "")
                page.askCode = true
                return render(page, secret, false, status: .unauthorized)
            case .throttled(let seconds):
                var response = render(
                    LoginPage(error: "Too many failed logins; try again in \(seconds) seconds.", email: email, next: next, csrf: ""), secret, false,
                    status: .tooManyRequests)
                response.headers[.retryAfter] = String(seconds)
                return response
            case .wrong:
                return render(
                    LoginPage(error: "The email or the password is wrong.", email: email, next: next, csrf: ""), secret, false, status: .unauthorized)
            case .loggedIn(let user):
                let (sessionSecret, session) = try await pages.hub.startSession(user: user)
                await pages.hub.audit(
                    accountID: user.accountID, caller: nil, actor: user.email, action: "Log in", method: "POST",
                    path: "/backups/login", status: 303, resourceID: nil, address: context.clientAddress)
                var response = WebResponses.redirect(next)
                response.setCookie(pages.hub.sessionCookie(sessionSecret, expires: session.expiresAt))
                response.setCookie(loginCookie("", maxAge: 0))
                return response
            }
        }
        router.post("/backups/logout") { request, context in
            if let caller = try await PageCaller.from(request, context: context, store: pages.store) {
                try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            }
            if let secret = request.cookies[Authenticator.sessionCookie]?.value {
                try await pages.store.deleteSession(hash: Secrets.hash(secret))
            }
            var response = WebResponses.redirect("/backups/login")
            response.setCookie(pages.hub.sessionCookie("", expires: nil))
            return response
        }
    }

    /// The login form's cookie secret: the browser's, or a new one.
    static func loginSecret(_ request: Request) -> (String, Bool) {
        if let existing = request.cookies[loginCookie]?.value, existing.hasPrefix(Secrets.loginFormPrefix + "_") { return (existing, false) }
        return (Secrets.make(prefix: Secrets.loginFormPrefix), true)
    }

    /// The login page with its form token (an HMAC of the cookie's secret), setting the cookie when it is new.
    func render(_ page: LoginPage, _ secret: String, _ setCookie: Bool, status: HTTPResponse.Status = .ok) -> Response {
        var model = LoginPage(error: page.error, email: page.email, next: page.next, csrf: PageCaller.csrfToken(sessionSecret: secret))
        model.askCode = page.askCode
        var response = pages.render("login", model, status: status)
        if setCookie { response.setCookie(loginCookie(secret, maxAge: 12 * 3600)) }
        return response
    }

    func loginCookie(_ value: String, maxAge: Int) -> Cookie {
        Cookie(
            name: Self.loginCookie, value: value, maxAge: maxAge, path: "/backups/login", secure: pages.hub.configuration.secureCookies,
            httpOnly: true, sameSite: .strict)
    }

    /// Only a path inside the hub: never an open redirect to another site.
    static func safeNext(_ value: String?) -> String {
        guard let value, value.hasPrefix("/backups"), !value.hasPrefix("//"), !value.contains("\\"), !value.contains("://") else { return "/backups" }
        return value
    }
}
