import BackupCore
import Foundation
import Hummingbird
import Store

/// Log in and out of the web hub.
struct LoginPages {
    let pages: WebPages

    struct LoginPage {
        let error: String?
        let email: String
        let next: String
    }

    func register(on router: Router<HubRequestContext>) {
        router.get("/backups/login") { request, _ in
            pages.render("login", LoginPage(error: nil, email: "", next: Self.safeNext(request.uri.queryParameters.get("next"))))
        }
        router.post("/backups/login") { request, _ in
            let form = try await FormData.read(request, limit: 16 * 1024)
            let email = (form["email"] ?? "").lowercased()
            let next = Self.safeNext(form["next"])
            guard let user = try await pages.store.user(email: email),
                try await AccountProvisioning.verify(form.pairs.first(where: { $0.0 == "password" })?.1 ?? "", hash: user.passwordHash)
            else {
                return pages.render("login", LoginPage(error: "The email or the password is wrong.", email: email, next: next), status: .unauthorized)
            }
            let (secret, session) = try await pages.hub.startSession(user: user)
            await pages.hub.audit(
                accountID: user.accountID, caller: nil, actor: user.email, action: "Log in", method: "POST",
                path: "/backups/login", status: 303, resourceID: nil)
            var response = WebResponses.redirect(next)
            response.setCookie(pages.hub.sessionCookie(secret, expires: session.expiresAt))
            return response
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

    /// Only a path inside the hub: never an open redirect to another site.
    static func safeNext(_ value: String?) -> String {
        guard let value, value.hasPrefix("/backups"), !value.hasPrefix("//"), !value.contains("\\"), !value.contains("://") else { return "/backups" }
        return value
    }
}
