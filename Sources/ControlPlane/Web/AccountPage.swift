import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Sealing
import Store

/// The account: plan (and what Plus adds), API tokens (create with a scope and a lifetime, the
/// secret shown once; revoke).
struct AccountPage {
    let pages: WebPages

    struct Model {
        let layout: Layout
        let name: String
        let planTitle: String
        let planClass: String
        let isFree: Bool
        let tokens: [TokenRow]
        let hasTokens: Bool
        let newSecret: String?
        let newScope: String?
        let error: String?
        let scopes: [Choice]
        let lifetimes: [Choice]
        /// The account signing key's fingerprint (nil: no vault yet, trust mode off).
        let accountKey: String?
        let members: [MemberRow]
        let invitations: [InvitationRow]
        let hasInvitations: Bool
        /// Whether the caller may invite, change roles and remove members (owners).
        let manageMembers: Bool
        let myRole: String
        let roles: [Choice]
        /// A new invitation's one-time link, shown once.
        let newInvitation: String?
        let newInvitationEmail: String?
        let memberError: String?
        let sessions: [SessionRow]
        let twoFactorOn: Bool
        let twoFactorRequired: Bool
        let recoveryLeft: Int
        /// A set-up in progress: the secret and the otpauth URI to put in the app.
        let enrolSecret: String?
        let enrolURI: String?
        /// The QR code of `enrolURI`, SVG drawn here (no user text in it: only the module grid).
        let enrolQR: String?
        /// The recovery codes, shown once when two-factor sign-in was turned on.
        let recoveryCodes: [String]
        let hasRecoveryCodes: Bool
        let twoFactorError: String?
        /// Single sign-on: the provider's issuer and client id (nil: off), who may join, the redirect URI to register.
        let ssoIssuer: String?
        let ssoClient: String?
        let ssoJoin: String
        let ssoRedirect: String
    }
    struct MemberRow {
        let id: String
        let email: String
        let role: String
        let since: TimeView
        let isMe: Bool
        let roles: [RoleChoice]
    }
    struct RoleChoice {
        let value: String
        let selected: Bool
    }
    struct InvitationRow {
        let id: String
        let email: String
        let role: String
        let expires: TimeView
    }
    struct SessionRow {
        let id: String
        let started: TimeView
        let expires: TimeView
        let current: Bool
    }
    struct Choice {
        let value: String
        let label: String
    }
    struct TokenRow {
        let id: String
        let name: String
        let prefix: String
        let scope: String
        let created: TimeView
        let expires: TimeView?
        let expired: Bool
        let lastUsed: TimeView?
    }

    static let scopeChoices = [
        Choice(value: "read", label: "read — look at everything, change nothing"),
        Choice(value: "metrics", label: "metrics — /metrics only (Prometheus)"),
        Choice(value: "write", label: "write — read, change, run and restore"),
        Choice(value: "admin", label: "admin — everything, including API tokens"),
    ]
    static let roleChoices = [
        Choice(value: "viewer", label: "viewer — looks at everything but secrets, downloads nothing"),
        Choice(value: "operator", label: "operator — also runs jobs, restores to a new location, browses and downloads"),
        Choice(value: "admin", label: "admin — everything but members and the plan"),
        Choice(value: "owner", label: "owner — everything"),
    ]
    static let lifetimeChoices = [
        Choice(value: "30d", label: "30 days"), Choice(value: "7d", label: "7 days"), Choice(value: "90d", label: "90 days"),
        Choice(value: "1y", label: "1 year"), Choice(value: "never", label: "never expires"),
    ]

    func register(on router: Router<HubRequestContext>) {
        router.page(.get, "/backups/account", pages: pages) { _, context, caller in
            pages.render("account", try await model(caller, sessionID: context.sessionID))
        }
        router.page(.post, "/backups/account/tokens", pages: pages, createToken)
        router.page(.post, "/backups/account/members/invite", pages: pages, invite)
        router.page(.post, "/backups/account/two-factor/{action}", pages: pages, twoFactor)
        router.page(.post, "/backups/account/members/{member}/role", pages: pages) { request, context, caller in
            let form = try await FormData.read(request, limit: 4096)
            try caller.checkCSRF(form)
            return try await memberChange(caller, sessionID: context.sessionID) {
                let role = try MemberRole.parse(form["role"] ?? "")
                _ = try await MemberService(hub: pages.hub).setRole(try context.parameter("member"), role: role, accountID: caller.account.id)
            }
        }
        router.page(.post, "/backups/account/members/{member}/remove", pages: pages) { request, context, caller in
            try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            return try await memberChange(caller, sessionID: context.sessionID) {
                try await MemberService(hub: pages.hub).remove(try context.parameter("member"), accountID: caller.account.id)
            }
        }
        router.page(.post, "/backups/account/invitations/{invitation}/withdraw", pages: pages) { request, context, caller in
            try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            return try await memberChange(caller, sessionID: context.sessionID) {
                try await MemberService(hub: pages.hub).withdraw(invitation: try context.parameter("invitation"), accountID: caller.account.id)
            }
        }
        router.page(.post, "/backups/account/sessions/{session}/end", pages: pages) { request, context, caller in
            try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            return try await memberChange(caller, sessionID: context.sessionID) {
                try await MemberService(hub: pages.hub).endSession(
                    try context.parameter("session"), accountID: caller.account.id, memberID: Access.current?.memberID)
            }
        }
        router.page(.post, "/backups/account/tokens/{token}/revoke", pages: pages) { request, context, caller in
            try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            if let id = context.parameters.get("token") {
                _ = try await TokenService(hub: pages.hub).revoke(id: id, accountID: caller.account.id)
            }
            return WebResponses.redirect("/backups/account")
        }
    }

    @Sendable func createToken(_ request: Request, _ context: HubRequestContext, _ caller: PageCaller) async throws -> Response {
        let form = try await FormData.read(request, limit: 16 * 1024)
        try caller.checkCSRF(form)
        do {
            let scope = try TokenScope.parse(form["scope"] ?? "read")
            let expires = form["expires"] ?? "never"
            let lifetime = expires == "never" ? nil : try APITokenRules.parseLifetime(expires)
            let created = try await TokenService(hub: pages.hub).create(
                TokenRequest(name: form["name"] ?? "", scope: scope, expiresInSeconds: lifetime), accountID: caller.account.id)
            return pages.render("account", try await model(caller, sessionID: context.sessionID, created: created, error: nil), status: .created)
        } catch let error as DomainError where error.code != .forbidden {
            return pages.render(
                "account",
                try await model(
                    caller, sessionID: context.sessionID, created: nil, error: error.message.prefix(1).uppercased() + error.message.dropFirst() + "."),
                status: .badRequest)
        }
    }

    @Sendable func invite(_ request: Request, _ context: HubRequestContext, _ caller: PageCaller) async throws -> Response {
        let form = try await FormData.read(request, limit: 16 * 1024)
        try caller.checkCSRF(form)
        do {
            let role = try MemberRole.parse(form["role"] ?? "")
            let created = try await MemberService(hub: pages.hub).invite(
                InvitationRequest(email: form["email"] ?? "", role: role), accountID: caller.account.id,
                invitedBy: context.caller?.label ?? "")
            return pages.render("account", try await model(caller, sessionID: context.sessionID, invitation: created), status: .created)
        } catch let error as DomainError where error.code != .forbidden {
            return pages.render(
                "account",
                try await model(
                    caller, sessionID: context.sessionID, memberError: error.message.prefix(1).uppercased() + error.message.dropFirst() + "."),
                status: .badRequest)
        }
    }

    /// Two-factor sign-in of the caller: `begin` (a secret for the app), `confirm` (its first code: on, recovery codes shown once),
    /// `disable` (a code), `policy` (owners: required of every member).
    @Sendable func twoFactor(_ request: Request, _ context: HubRequestContext, _ caller: PageCaller) async throws -> Response {
        let form = try await FormData.read(request, limit: 4096)
        try caller.checkCSRF(form)
        guard let member = try await pages.store.user(id: Access.current?.memberID ?? ""), member.accountID == caller.account.id else {
            return WebResponses.redirect("/backups/account")
        }
        let service = TwoFactorService(hub: pages.hub)
        do {
            switch context.parameters.get("action") ?? "" {
            case "begin":
                let enrolment = try await service.begin(member: member)
                return pages.render("account", try await model(caller, sessionID: context.sessionID, enrolment: enrolment))
            case "confirm":
                let enabled = try await service.confirm(member: member, code: form["code"] ?? "")
                return pages.render("account", try await model(caller, sessionID: context.sessionID, recovery: enabled))
            case "disable":
                try await service.disable(member: member, code: form["code"] ?? "")
            case "policy":
                try await service.setRequired(form["required"] == "on", accountID: caller.account.id)
            default:
                return pages.notFound("page", caller: caller)
            }
            return WebResponses.redirect("/backups/account")
        } catch let error as DomainError where error.code != .forbidden {
            return pages.render(
                "account",
                try await model(
                    caller, sessionID: context.sessionID, twoFactorError: error.message.prefix(1).uppercased() + error.message.dropFirst() + "."),
                status: .badRequest)
        }
    }

    /// Runs a change of the members or sessions; back to the page, or the page with the refusal (the last owner, a missing member).
    func memberChange(_ caller: PageCaller, sessionID: String?, _ change: () async throws -> Void) async throws -> Response {
        do {
            try await change()
            return WebResponses.redirect("/backups/account")
        } catch let error as DomainError where error.code != .forbidden {
            return pages.render(
                "account",
                try await model(caller, sessionID: sessionID, memberError: error.message.prefix(1).uppercased() + error.message.dropFirst() + "."),
                status: error.code == .notFound ? .notFound : .conflict)
        }
    }

    func model(
        _ caller: PageCaller, sessionID: String?, created: TokenCreated? = nil, error: String? = nil, invitation: InvitationCreated? = nil,
        memberError: String? = nil, enrolment: TwoFactorEnrolment? = nil, recovery: TwoFactorEnabled? = nil, twoFactorError: String? = nil
    ) async throws -> Model {
        let member = try await pages.store.user(id: Access.current?.memberID ?? "")
        var twoFactor: TwoFactorStatus?
        if let member { twoFactor = try await TwoFactorService(hub: pages.hub).status(member: member) }
        let service = MemberService(hub: pages.hub)
        let team = try await service.list(accountID: caller.account.id)
        let sso = try await SSOService(hub: pages.hub).view(accountID: caller.account.id)
        let domains = sso.domains.isEmpty ? "" : " at " + sso.domains.joined(separator: ", ")
        let ssoJoin =
            sso.allowJoin
            ? "People with a verified email\(domains) join as \(sso.defaultRole?.rawValue ?? "viewer")."
            : "Only members and invitees sign in through it."
        let me = Access.current?.memberID
        let manage = Access.allows(.manageMembers)
        let mySessions = try await service.sessions(accountID: caller.account.id, memberID: me, currentSession: sessionID)
        let now = pages.now
        let tokens = try await TokenService(hub: pages.hub).list(accountID: caller.account.id).filter { $0.revokedAt == nil }
        return Model(
            layout: Layout("Account", section: "account", caller: caller), name: caller.account.name,
            planTitle: caller.account.plan.title, planClass: "plan-" + caller.account.plan.rawValue, isFree: caller.account.plan == .free,
            tokens: tokens.map {
                TokenRow(
                    id: $0.id, name: $0.name, prefix: $0.prefix, scope: $0.scope.rawValue, created: TimeView($0.createdAt, now: now),
                    expires: $0.expiresAt.map { TimeView($0, now: now) }, expired: $0.isExpired(at: now),
                    lastUsed: $0.lastUsedAt.map { TimeView($0, now: now) })
            },
            hasTokens: !tokens.isEmpty, newSecret: created?.secret, newScope: created?.token.scope.rawValue, error: error,
            scopes: Self.scopeChoices, lifetimes: Self.lifetimeChoices,
            accountKey: try await ManifestService(hub: pages.hub).accountKey(accountID: caller.account.id).map(KeyFingerprint.of),
            members: team.members.map { member in
                MemberRow(
                    id: member.id, email: member.email, role: member.role.rawValue, since: TimeView(member.createdAt, now: now),
                    isMe: member.id == me,
                    roles: MemberRole.allCases.reversed().map { RoleChoice(value: $0.rawValue, selected: $0 == member.role) })
            },
            invitations: team.invitations.map {
                InvitationRow(id: $0.id, email: $0.email, role: $0.role.rawValue, expires: TimeView($0.expiresAt, now: now))
            },
            hasInvitations: !team.invitations.isEmpty, manageMembers: manage, myRole: Access.current?.role.rawValue ?? "owner",
            roles: Self.roleChoices, newInvitation: invitation?.url, newInvitationEmail: invitation?.invitation.email,
            memberError: memberError,
            sessions: mySessions.sessions.map {
                SessionRow(id: $0.id, started: TimeView($0.createdAt, now: now), expires: TimeView($0.expiresAt, now: now), current: $0.current)
            },
            twoFactorOn: twoFactor?.enabled ?? false, twoFactorRequired: twoFactor?.required ?? false,
            recoveryLeft: twoFactor?.recoveryCodesLeft ?? 0, enrolSecret: enrolment?.secret, enrolURI: enrolment?.uri, enrolQR: enrolment?.qrSVG,
            recoveryCodes: recovery?.recoveryCodes ?? [], hasRecoveryCodes: recovery != nil, twoFactorError: twoFactorError,
            ssoIssuer: sso.issuer, ssoClient: sso.clientID,
            ssoJoin: ssoJoin,
            ssoRedirect: sso.redirectURI)
    }
}
