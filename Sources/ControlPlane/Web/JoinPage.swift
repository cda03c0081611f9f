import BackupCore
import Foundation
import Hummingbird
import Store

/// Accepting an invitation: `/backups/join?invitation=mzi_…` (the one-time link an owner made)
/// asks the invitee for a password, makes them a member with the role they were invited with and
/// signs them in. Like the login form, the form carries an HMAC of its own cookie (`mzpanel_join`),
/// so a cross-site page cannot post it.
struct JoinPage {
    let pages: WebPages

    static let cookie = "mzpanel_join"

    struct Model {
        let invitation: String
        let email: String
        let role: String
        let error: String?
        let csrf: String
        let valid: Bool
        /// The account signs in with single sign-on: the invitee may join through the provider instead.
        var sso = false
    }

    func register(on router: Router<HubRequestContext>) {
        router.get("/backups/join") { request, _ in
            let secret = request.uri.queryParameters.get("invitation") ?? ""
            let invitation = try await MemberService(hub: pages.hub).invitation(secret: secret)
            let (formSecret, isNew) = Self.formSecret(request)
            var model = Model(
                invitation: invitation == nil ? "" : secret, email: invitation?.email ?? "", role: invitation?.role.rawValue ?? "",
                error: invitation == nil ? "This invitation link was used, has expired or was withdrawn; ask for a new one." : nil,
                csrf: PageCaller.csrfToken(sessionSecret: formSecret), valid: invitation != nil)
            if let invitation { model.sso = try await pages.store.ssoSettings(accountID: invitation.accountID) != nil }
            var response = pages.render("join", model, status: invitation == nil ? .notFound : .ok)
            if isNew { response.setCookie(cookie(formSecret, maxAge: 3600)) }
            return response
        }
        router.post("/backups/join") { request, context in
            let form = try await FormData.read(request, limit: 16 * 1024)
            let secret = form["invitation"] ?? ""
            let members = MemberService(hub: pages.hub)
            let invitation = try await members.invitation(secret: secret)
            func page(_ error: String, status: HTTPResponse.Status) -> Response {
                let (formSecret, isNew) = Self.formSecret(request)
                var response = pages.render(
                    "join",
                    Model(
                        invitation: invitation == nil ? "" : secret, email: invitation?.email ?? "", role: invitation?.role.rawValue ?? "",
                        error: error, csrf: PageCaller.csrfToken(sessionSecret: formSecret), valid: invitation != nil), status: status)
                if isNew { response.setCookie(cookie(formSecret, maxAge: 3600)) }
                return response
            }
            guard let formSecret = request.cookies[Self.cookie]?.value,
                PageCaller.formCarries(form, csrf: PageCaller.csrfToken(sessionSecret: formSecret))
            else { return page("The form expired or did not come from this site; enter your password again.", status: .forbidden) }
            let password = form.pairs.first(where: { $0.0 == "password" })?.1 ?? ""
            guard password == (form.pairs.first(where: { $0.0 == "confirm" })?.1 ?? "") else {
                return page("The two passwords differ; type the same password twice.", status: .badRequest)
            }
            let member: User
            do {
                member = try await members.accept(secret: secret, password: password)
            } catch let error as DomainError {
                return page(error.message.prefix(1).uppercased() + error.message.dropFirst() + ".", status: .badRequest)
            }
            let (sessionSecret, session) = try await pages.hub.startSession(user: member)
            await pages.hub.audit(
                accountID: member.accountID, caller: nil, actor: member.email, action: "Join the account as \(member.role.rawValue)",
                method: "POST", path: "/backups/join", status: 303, resourceID: member.id, address: context.clientAddress)
            var response = WebResponses.redirect("/backups")
            response.setCookie(pages.hub.sessionCookie(sessionSecret, expires: session.expiresAt))
            response.setCookie(cookie("", maxAge: 0))
            return response
        }
    }

    static func formSecret(_ request: Request) -> (String, Bool) {
        if let existing = request.cookies[cookie]?.value, existing.hasPrefix(Secrets.loginFormPrefix + "_") { return (existing, false) }
        return (Secrets.make(prefix: Secrets.loginFormPrefix), true)
    }

    func cookie(_ value: String, maxAge: Int) -> Cookie {
        Cookie(
            name: Self.cookie, value: value, maxAge: maxAge, path: "/backups/join", secure: pages.hub.configuration.secureCookies, httpOnly: true,
            sameSite: .strict)
    }
}
