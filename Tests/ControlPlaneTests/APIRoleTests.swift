import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import NIOCore
import Sealing
import Store
import Testing

@testable import ControlPlane

/// Members and roles: every route × every role answers as `RolePermissions.table` says (403
/// `forbidden_role` when the role lacks the route's permission), invitations, the last owner, and
/// removing a member ending their sessions and tokens at once.
@Suite("API: members and roles")
struct APIRoleTests {
    struct Member {
        let id: String
        let email: String
        let token: String
        let password: String
    }

    /// Invites `email` as `role` with the owner's token, accepts the invitation with a password, and gives the new
    /// member an admin-scope token (made directly, so the matrix tests roles and not scopes).
    static func member(_ hub: TestHub, _ client: any TestClientProtocol, owner: TestAccount, email: String, role: MemberRole) async throws -> Member {
        let invited = try await client.call(
            .post, "/api/v1/invitations", token: owner.token, body: #"{"email":"\#(email)","role":"\#(role.rawValue)"}"#)
        try #require(invited.status == .created, "\(invited)")
        let url = try #require(invited.json["url"].string)
        #expect(url.contains("/backups/join?invitation=mzi_"), "\(url)")
        let secret = String(try #require(url.split(separator: "=").last))
        let password = "a long enough password"
        let user = try await MemberService(hub: hub.services).accept(secret: secret, password: password)
        #expect(user.role == role && user.email == email && user.accountID == owner.id)
        let token = try await AccountProvisioning(store: hub.store, clock: hub.clock, bcryptCost: 4).issueAPIToken(
            accountID: owner.id, userID: user.id, name: "\(role.rawValue) matrix", scope: .admin)
        return Member(id: user.id, email: email, token: token.secret, password: password)
    }

    /// What each change (and each read of secrets, browse and download) needs. Every route that is not a GET must be
    /// listed here or in `everyone`, so a new route is classified before it ships.
    static let permissions: [String: Permission] = [
        "POST /api/v1/servers": .manageServers, "PATCH /api/v1/servers/{server}": .manageServers,
        "DELETE /api/v1/servers/{server}": .deleteServers, "PUT /api/v1/servers/{server}/certificate": .manageServers,
        "DELETE /api/v1/servers/{server}/certificate": .manageServers, "POST /api/v1/servers/{server}/stacks/discover": .manageServers,
        "POST /api/v1/servers/{server}/upgrade": .manageServers, "POST /api/v1/servers/{server}/enrollment-tokens": .manageServers,
        "DELETE /api/v1/servers/{server}/enrollment-tokens/{token}": .manageServers,
        "POST /api/v1/destinations": .editDestinations, "PATCH /api/v1/destinations/{destination}": .editDestinations,
        "DELETE /api/v1/destinations/{destination}": .deleteDestinations,
        "PUT /api/v1/destinations/{destination}/manifest": .editDestinations,
        "GET /api/v1/destinations/{destination}/envelopes": .readSecrets,
        "GET /api/v1/destinations/{destination}/envelopes/{server}": .readSecrets,
        "PUT /api/v1/destinations/{destination}/envelopes/{server}": .editDestinations,
        "DELETE /api/v1/destinations/{destination}/envelopes/{server}": .editDestinations,
        "GET /api/v1/vault": .readSecrets, "PUT /api/v1/vault": .editDestinations,
        "GET /api/v1/vault/member-key": .readSecrets, "PUT /api/v1/vault/member-key": .editDestinations,
        "GET /api/v1/vault/members": .readSecrets, "PUT /api/v1/vault/members/{member}/wrapping": .editDestinations,
        "DELETE /api/v1/vault/members/{member}/wrapping": .editDestinations,
        "POST /api/v1/jobs": .editJobs, "PATCH /api/v1/jobs/{job}": .editJobs, "DELETE /api/v1/jobs/{job}": .deleteJobs,
        "POST /api/v1/jobs/{job}/run": .runNow, "POST /api/v1/jobs/{job}/drills": .runNow,
        "POST /api/v1/jobs/{job}/copies": .runNow, "PUT /api/v1/jobs/{job}/manifest": .editJobs,
        "GET /api/v1/notifications/channels": .readSecrets, "POST /api/v1/notifications/channels": .manageNotifications,
        "PATCH /api/v1/notifications/channels/{channel}": .manageNotifications,
        "DELETE /api/v1/notifications/channels/{channel}": .manageNotifications,
        "POST /api/v1/notifications/channels/{channel}/test": .manageNotifications,
        "POST /api/v1/restores": .restore, "PUT /api/v1/runs/{run}/manifest": .restore,
        "GET /api/v1/snapshots/{snapshot}/tree": .browse, "GET /api/v1/snapshots/{snapshot}/download": .download,
        "GET /api/v1/tokens": .ownCredentials, "POST /api/v1/tokens": .ownCredentials, "DELETE /api/v1/tokens/{token}": .ownCredentials,
        "GET /api/v1/sessions": .ownCredentials, "DELETE /api/v1/sessions/{session}": .ownCredentials,
        "POST /api/v1/invitations": .manageMembers, "DELETE /api/v1/invitations/{invitation}": .manageMembers,
        "PATCH /api/v1/members/{member}": .manageMembers, "DELETE /api/v1/members/{member}": .manageMembers,
        "POST /api/v1/account/two-factor": .ownCredentials, "POST /api/v1/account/two-factor/confirm": .ownCredentials,
        "POST /api/v1/account/two-factor/disable": .ownCredentials, "PUT /api/v1/account/two-factor-policy": .manageMembers,
        "PUT /api/v1/account/sso": .manageMembers, "DELETE /api/v1/account/sso": .manageMembers,
    ]
    /// Changes every member may make.
    static let everyone: Set<String> = ["POST /api/v1/schedules/preview", "POST /api/v1/jobs/{job}/retention-preview"]

    /// Deletions go last, the dependent resources first, so each route still finds its resources.
    static let deletionOrder = [
        "DELETE /api/v1/tokens/{token}", "DELETE /api/v1/sessions/{session}", "DELETE /api/v1/invitations/{invitation}",
        "DELETE /api/v1/vault/members/{member}/wrapping",
        "DELETE /api/v1/members/{member}", "DELETE /api/v1/account/sso", "DELETE /api/v1/notifications/channels/{channel}",
        "DELETE /api/v1/servers/{server}/enrollment-tokens/{token}", "DELETE /api/v1/servers/{server}/certificate",
        "DELETE /api/v1/destinations/{destination}/envelopes/{server}", "DELETE /api/v1/jobs/{job}",
        "DELETE /api/v1/destinations/{destination}", "DELETE /api/v1/servers/{server}",
    ]

    static func bodies(_ world: AccountWorld, vault: String) -> [String: String] {
        [
            "ServerRequest": #"{"name":"matrix-web"}"#, "ServerUpdate": #"{"name":"\#(world.serverName)"}"#,
            "EnrollmentRequest": #"{"expiresInSeconds":600}"#, "CertificateRequest": #"{"certificate":"AAAA","keyFingerprint":"0000"}"#,
            "DestinationRequest": #"{"name":"matrix-local","kind":"local","settings":{"path":"/srv/matrix"}}"#,
            "DestinationUpdate": #"{"name":"\#(world.destinationName)"}"#,
            "ManifestRequest": APIIsolationTests.bodies["ManifestRequest"]!,
            "EnvelopeRequest": #"{"keyID":"key-alpha","version":1,"ciphertext":"\#(Data("matrix".utf8).base64EncodedString())"}"#,
            "VaultRequest": vault,
            "MemberKeyRequest":
                #"{"key":{"v":1,"memberID":"mbr_matrix","publicKey":"AAAA","iterations":600000,"salt":"AAAA","privateKey":{"nonce":"AAAA","ct":"AAAA"}}}"#,
            "MemberWrappingRequest": #"{"keyID":"matrix","wrapping":"1.matrix.a.b"}"#,
            "JobRequest":
                #"{"name":"matrix-job","server":"\#(world.serverName)","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["\#(world.destinationName)"]}"#,
            "JobUpdate": #"{"enabled":true}"#, "ChannelRequest": #"{"name":"matrix-hook","url":"https://hooks.example.com/matrix"}"#,
            "ChannelUpdate": #"{"name":"\#(world.channelName)"}"#, "RestoreRequest": #"{"snapshot":"\#(world.snapshotID)","target":"/srv/restored"}"#,
            "TokenRequest": #"{"name":"matrix"}"#, "InvitationRequest": #"{"email":"matrix-invitee@example.com","role":"viewer"}"#,
            "DrillRequest": APIIsolationTests.bodies["DrillRequest"]!,
            "CopyRequest": #"{"from":"\#(world.destinationName)","to":"\#(world.destinationName)"}"#,
            "RetentionPreviewRequest": APIIsolationTests.bodies["RetentionPreviewRequest"]!,
            "MemberUpdate": #"{"role":"owner"}"#, "TwoFactorCode": #"{"code":"000000"}"#, "TwoFactorPolicy": #"{"required":false}"#,
            "SSOSettingsRequest": #"{"issuer":"https://sso.example.invalid","clientID":"mzpanel"}"#,
        ]
    }

    @Test func thePermissionTableIsOrderedByRole() {
        for permission in Permission.allCases {
            let allowed = MemberRole.allCases.sorted().map { $0.allows(permission) }
            #expect(allowed == allowed.sorted { !$0 && $1 }, "\(permission): a higher role never has less")
            #expect(MemberRole.owner.allows(permission))
        }
        #expect(!MemberRole.admin.allows(.manageMembers) && !MemberRole.admin.allows(.managePlan))
        #expect(MemberRole.operator.allows(.download) && MemberRole.operator.allows(.restore) && MemberRole.operator.allows(.runNow))
        #expect(
            !MemberRole.operator.allows(.deleteJobs) && !MemberRole.operator.allows(.restoreInPlace) && !MemberRole.operator.allows(.editDestinations)
        )
        #expect(!MemberRole.viewer.allows(.download) && !MemberRole.viewer.allows(.browse) && !MemberRole.viewer.allows(.readSecrets))
    }

    /// Every API route × every role: a role without the route's permission answers 403 `forbidden_role`, with its
    /// own account's real resources (so nothing else can refuse first); a role with it is never refused for its role.
    @Test func everyRouteAnswersEveryRoleAsTheTableSays() async throws {
        try await withTestHub { hub, client in
            let owner = try await hub.account("owner@example.com", plan: .plus)
            let world = try await AccountWorld.build(hub, client, account: owner, prefix: "alpha")
            let other = try await AccountWorld.build(hub, client, account: try await hub.account("bravo@example.com", plan: .plus), prefix: "bravo")
            var tokens: [MemberRole: String] = [.owner: owner.token]
            for role in [MemberRole.viewer, .operator, .admin] {
                tokens[role] = try await Self.member(hub, client, owner: owner, email: "\(role.rawValue)@example.com", role: role).token
            }
            let key = try Vault.create(accountID: owner.id, passphrase: "a long passphrase")
            let vault = String(decoding: try JSONEncoder().encode(VaultRequest(vault: key.document, replace: nil)), as: UTF8.self)
            let bodies = Self.bodies(world, vault: vault)

            let routes = try hub.routeTable().filter { $0.scope != nil }
            let key1 = { (route: RouteDoc) in "\(route.method.rawValue) \(route.path)" }
            for route in routes where route.method != .get && Self.permissions[key1(route)] == nil && !Self.everyone.contains(key1(route)) {
                Issue.record("\(key1(route)): the role matrix does not say which permission it needs; add it to APIRoleTests.permissions")
            }
            let ordered =
                routes.filter { $0.method != .delete }
                + Self.deletionOrder.compactMap { name in routes.first { key1($0) == name } }
            for route in routes where route.method == .delete && !Self.deletionOrder.contains(key1(route)) {
                Issue.record("\(key1(route)): add it to APIRoleTests.deletionOrder")
            }
            var checked = 0
            var refused = 0
            for route in ordered {
                guard let parameters = APIIsolationTests.parameters(of: route) else { continue }
                var segments = route.path.split(separator: "/").map(String.init)
                for parameter in parameters {
                    guard let value = parameter.slot.value(in: world, byName: false) else {
                        Issue.record("\(key1(route)): no \(parameter.slot) in the world")
                        continue
                    }
                    segments[parameter.index] = value
                }
                var uri = "/" + segments.joined(separator: "/")
                if route.path.hasSuffix("/download") || route.path.hasSuffix("/tree") { uri += "?path=/var/www" }
                let permission = Self.permissions[key1(route)]
                var body: String?
                if let schema = route.requestSchema {
                    body = bodies[schema]
                    if body == nil, permission != nil { Issue.record("\(key1(route)): the role matrix has no valid \(schema) body") }
                    if body == nil { body = "{}" }
                }
                for role in MemberRole.allCases.sorted() {
                    let answer = try await client.call(route.method, uri, token: tokens[role], body: body)
                    let allowed = permission.map { role.allows($0) } ?? true
                    if allowed {
                        #expect(answer.status != .forbidden, "\(role) on \(key1(route)): \(answer)")
                        #expect(answer.status.code < 500, "\(role) on \(key1(route)): \(answer)")
                    } else {
                        expectError(answer, .forbidden, code: "forbidden_role")
                        #expect(answer.error["message"].string?.contains("your role (\(role.rawValue))") == true, "\(key1(route)): \(answer)")
                        refused += 1
                    }
                    checked += 1
                }
            }
            #expect(routes.count > 50, "the matrix covers the whole API")
            #expect(checked == ordered.count * MemberRole.allCases.count)
            #expect(refused > 60, "viewers, operators and admins were refused where the table says: \(refused)")

            // Another account's resources stay 404 for every role (never 403: their existence does not leak).
            for role in MemberRole.allCases {
                for uri in ["/api/v1/jobs/\(other.jobID)", "/api/v1/snapshots/\(other.snapshotID)/download?path=/x"] {
                    expectError(try await client.call(.get, uri, token: tokens[role]), .notFound, code: "not_found")
                }
                expectError(try await client.call(.delete, "/api/v1/jobs/\(other.jobID)", token: tokens[role]), .notFound, code: "not_found")
            }
        }
    }

    /// The web hub offers only what the role allows (the use cases refuse the rest anyway).
    @Test func pagesOfferOnlyWhatTheRoleAllows() async throws {
        try await withTestHub { hub, client in
            let owner = try await hub.account("owner@example.com", plan: .plus)
            let world = try await AccountWorld.build(hub, client, account: owner, prefix: "alpha")
            var pages: [MemberRole: String] = [:]
            for role in [MemberRole.viewer, .operator, .admin] {
                let member = try await Self.member(hub, client, owner: owner, email: "\(role.rawValue)-web@example.com", role: role)
                let login = try await client.call(.post, "/api/v1/session", body: #"{"email":"\#(member.email)","password":"\#(member.password)"}"#)
                let cookie = try #require(login.cookies[Authenticator.sessionCookie]?.value)
                let page = try await client.call(.get, "/backups/jobs/\(world.jobID)", headers: [.cookie: "\(Authenticator.sessionCookie)=\(cookie)"])
                expectStatus(page, .ok)
                pages[role] = page.text
                let csrf = page.text.firstMatch(of: #/name="csrf" value="([^"]+)"/#).map { String($0.1) } ?? ""
                let refused = try await client.execute(
                    uri: "/backups/jobs/\(world.jobID)/delete", method: .post,
                    headers: [.cookie: "\(Authenticator.sessionCookie)=\(cookie)", .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "csrf=" + csrf))
                #expect((refused.status == .forbidden) == (role != .admin), "\(role): \(refused.status)")
            }
            let delete = "/jobs/\(world.jobID)/delete"
            let run = "/jobs/\(world.jobID)/run"
            #expect(pages[.viewer]?.contains(delete) == false && pages[.viewer]?.contains(run) == false)
            #expect(pages[.operator]?.contains(run) == true && pages[.operator]?.contains(delete) == false)
            #expect(pages[.admin]?.contains(delete) == true && pages[.admin]?.contains(run) == true)
        }
    }

    @Test func anOperatorsTokenCannotDeleteAndAViewerCannotDownload() async throws {
        try await withTestHub { hub, client in
            let owner = try await hub.account("owner@example.com", plan: .plus)
            let world = try await AccountWorld.build(hub, client, account: owner, prefix: "alpha")
            let ops = try await Self.member(hub, client, owner: owner, email: "ops@example.com", role: .operator)
            let look = try await Self.member(hub, client, owner: owner, email: "look@example.com", role: .viewer)
            for uri in ["/api/v1/jobs/\(world.jobID)", "/api/v1/destinations/\(world.destinationID)", "/api/v1/servers/\(world.serverID)"] {
                expectError(try await client.call(.delete, uri, token: ops.token), .forbidden, code: "forbidden_role")
            }
            #expect(try await hub.store.job(accountID: owner.id, id: world.jobID) != nil, "the job is still there")
            // An operator restores to a new location, never over existing data.
            let inPlace = try await client.call(.post, "/api/v1/restores", token: ops.token, body: #"{"snapshot":"\#(world.snapshotID)"}"#)
            expectError(inPlace, .forbidden, code: "forbidden_role")
            #expect(inPlace.error["message"].string?.contains("over existing data") == true)
            let overwrite = try await client.call(
                .post, "/api/v1/restores", token: ops.token, body: #"{"snapshot":"\#(world.snapshotID)","target":"/srv/x","overwrite":true}"#)
            expectError(overwrite, .forbidden, code: "forbidden_role")
            expectStatus(
                try await client.call(.post, "/api/v1/restores", token: ops.token, body: #"{"snapshot":"\#(world.snapshotID)","target":"/srv/new"}"#),
                .accepted)
            let download = try await client.call(.get, "/api/v1/snapshots/\(world.snapshotID)/download?path=/var/www", token: look.token)
            expectError(download, .forbidden, code: "forbidden_role")
            #expect(download.error["message"].string?.contains("download files") == true)
            expectError(try await client.call(.get, "/api/v1/vault", token: look.token), .forbidden, code: "forbidden_role")
            expectStatus(try await client.call(.get, "/api/v1/jobs/\(world.jobID)", token: look.token), .ok)
            // A token never carries more than its member: a viewer cannot make a write token.
            let wide = try await client.call(.post, "/api/v1/tokens", token: look.token, body: #"{"name":"wide","scope":"write"}"#)
            expectError(wide, .forbidden, code: "forbidden_role")
            #expect(wide.errorField == "scope")
            // Every audit entry names the member.
            let audit = try await client.call(.get, "/api/v1/audit", token: owner.token)
            let actors = audit.json["events"].array.compactMap { $0["actor"].string }
            #expect(actors.contains { $0.contains("ops@example.com") }, "\(actors)")
            #expect(actors.allSatisfy { $0.contains("@example.com") }, "\(actors)")
        }
    }

    @Test func removingAMemberEndsTheirSessionsAndTokensAtOnce() async throws {
        try await withTestHub { hub, client in
            let owner = try await hub.account("owner@example.com")
            let admin = try await Self.member(hub, client, owner: owner, email: "admin@example.com", role: .admin)
            let login = try await client.call(.post, "/api/v1/session", body: #"{"email":"admin@example.com","password":"\#(admin.password)"}"#)
            expectStatus(login, .created)
            let cookie = try #require(login.cookies[Authenticator.sessionCookie]?.value)
            let cookieHeader: HTTPFields = [.cookie: "\(Authenticator.sessionCookie)=\(cookie)"]
            expectStatus(try await client.call(.get, "/api/v1/servers", headers: cookieHeader), .ok)
            expectStatus(try await client.call(.get, "/api/v1/servers", token: admin.token), .ok)
            // An admin may not manage members.
            expectError(try await client.call(.delete, "/api/v1/members/\(owner.email)", token: admin.token), .forbidden, code: "forbidden_role")

            expectStatus(try await client.call(.delete, "/api/v1/members/admin@example.com", token: owner.token), .ok)
            expectError(try await client.call(.get, "/api/v1/servers", token: admin.token), .unauthorized)
            expectError(try await client.call(.get, "/api/v1/servers", headers: cookieHeader), .unauthorized)
            let tokens = try await hub.store.apiTokens(accountID: owner.id).filter { $0.userID == admin.id }
            #expect(!tokens.isEmpty && tokens.allSatisfy { $0.revokedAt != nil })
            #expect(try await hub.store.sessions(accountID: owner.id, userID: admin.id, now: hub.clock.now()).isEmpty)
            let members = try await client.call(.get, "/api/v1/members", token: owner.token)
            #expect(members.json["members"].array.compactMap { $0["email"].string } == ["owner@example.com"])
            // The email is free again and cannot sign in.
            let again = try await client.call(.post, "/api/v1/session", body: #"{"email":"admin@example.com","password":"\#(admin.password)"}"#)
            expectError(again, .unauthorized)
        }
    }

    @Test func theLastOwnerStaysAndRolesChange() async throws {
        try await withTestHub { hub, client in
            let owner = try await hub.account("owner@example.com")
            let ownerID = try #require(try await hub.store.user(email: "owner@example.com")).id
            expectError(try await client.call(.delete, "/api/v1/members/\(ownerID)", token: owner.token), .conflict, field: "role")
            expectError(
                try await client.call(.patch, "/api/v1/members/\(ownerID)", token: owner.token, body: #"{"role":"admin"}"#), .conflict, field: "role")
            let second = try await Self.member(hub, client, owner: owner, email: "second@example.com", role: .viewer)
            expectError(try await client.call(.get, "/api/v1/vault", token: second.token), .forbidden, code: "forbidden_role")
            let promoted = try await client.call(.patch, "/api/v1/members/second@example.com", token: owner.token, body: #"{"role":"owner"}"#)
            expectStatus(promoted, .ok)
            #expect(promoted.json["role"].string == "owner")
            // The token follows its member's role at once.
            expectError(try await client.call(.get, "/api/v1/vault", token: second.token), .notFound, code: "not_found")
            expectStatus(try await client.call(.patch, "/api/v1/members/\(ownerID)", token: owner.token, body: #"{"role":"viewer"}"#), .ok)
            expectError(try await client.call(.get, "/api/v1/vault", token: owner.token), .forbidden, code: "forbidden_role")
            expectError(
                try await client.call(.patch, "/api/v1/members/second@example.com", token: second.token, body: #"{"role":"admin"}"#), .conflict,
                field: "role")
            expectError(
                try await client.call(.post, "/api/v1/invitations", token: owner.token, body: #"{"email":"x@example.com","role":"viewer"}"#),
                .forbidden, code: "forbidden_role")
            // Invitations: one email, one member on the hub; a bad role is refused; a link works once.
            expectError(
                try await client.call(
                    .post, "/api/v1/invitations", token: second.token, body: #"{"email":"owner@example.com","role":"viewer"}"#), .conflict,
                field: "email")
            expectError(
                try await client.call(.post, "/api/v1/invitations", token: second.token, body: #"{"email":"y@example.com","role":"root"}"#),
                .badRequest)
            let invited = try await client.call(
                .post, "/api/v1/invitations", token: second.token, body: #"{"email":"z@example.com","role":"operator"}"#)
            let secret = String(try #require(invited.json["url"].string?.split(separator: "=").last))
            _ = try await MemberService(hub: hub.services).accept(secret: secret, password: "another long password")
            await #expect(throws: DomainError.self) {
                try await MemberService(hub: hub.services).accept(secret: secret, password: "another long password")
            }
        }
    }

    /// The web hub's invitation page: the invitee sets a password and is signed in as a member.
    @Test func anInviteeJoinsThroughTheWebPage() async throws {
        try await withTestHub { hub, client in
            let owner = try await hub.account("owner@example.com")
            let invited = try await client.call(
                .post, "/api/v1/invitations", token: owner.token, body: #"{"email":"web@example.com","role":"operator"}"#)
            let url = try #require(invited.json["url"].string)
            let path = String(url[try #require(url.range(of: "/backups/join")).lowerBound...])
            let page = try await client.call(.get, path)
            expectStatus(page, .ok)
            #expect(page.text.contains("web@example.com") && page.text.contains("operator"))
            let formCookie = try #require(page.cookies[JoinPage.cookie]?.value)
            let csrf = try #require(page.text.firstMatch(of: #/name="csrf" value="([^"]+)"/#)?.1)
            let secret = String(try #require(url.split(separator: "=").last))
            let form = "csrf=\(csrf)&invitation=\(secret)&password=joined+password+1&confirm=joined+password+1"
            let posted = try await client.execute(
                uri: "/backups/join", method: .post,
                headers: [.cookie: "\(JoinPage.cookie)=\(formCookie)", .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: form))
            #expect(posted.status == .seeOther, "\(posted.status)")
            #expect(posted.headers[values: .setCookie].contains { $0.hasPrefix(Authenticator.sessionCookie + "=mzs_") })
            let member = try #require(try await hub.store.user(email: "web@example.com"))
            #expect(member.role == .operator && member.accountID == owner.id)
            let reused = try await client.call(.get, path)
            expectStatus(reused, .notFound)
        }
    }
}
