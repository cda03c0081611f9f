import ArgumentParser
import BackupCore
import Foundation
import HubAPI

struct MembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members", abstract: "List the account's members; owners invite, change roles and remove members.",
        discussion: """
            Roles: viewer (looks at everything but secrets, downloads nothing), operator (also runs jobs now, restores to a new
            location, browses and downloads), admin (everything but members and the plan), owner (everything).
            """,
        subcommands: [List.self, Invite.self, Role.self, Remove.self, Withdraw.self], defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the members (and, for owners, the invitations waiting).")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/members")
            if options.json { return Output.json(data) }
            let list = try HubDecoding.decode(MemberList.self, data)
            Output.table(["EMAIL", "ID", "ROLE", "SINCE"], list.members.map { [$0.email, $0.id, $0.role.rawValue, Output.date($0.createdAt)] })
            if !list.invitations.isEmpty {
                print("")
                print("Invitations waiting:")
                Output.table(
                    ["EMAIL", "ID", "ROLE", "EXPIRES", "INVITED BY"],
                    list.invitations.map { [$0.email, $0.id, $0.role.rawValue, Output.date($0.expiresAt), $0.invitedBy] })
            }
        }
    }

    struct Invite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "invite", abstract: "Invite a member: prints a one-time link (valid 7 days) where they choose a password.")
        @Argument(help: "Their email address; they sign in with it.") var email: String
        @Option(name: .long, help: "owner, admin, operator or viewer.") var role: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let parsed: MemberRole
            do throws(DomainError) { parsed = try MemberRole.parse(role) } catch { throw CLIError("--role: \(error.message)") }
            let data = try await options.client().raw("POST", "/api/v1/invitations", body: InvitationRequest(email: email, role: parsed))
            if options.json { return Output.json(data) }
            let created = try HubDecoding.decode(InvitationCreated.self, data)
            print("Invited \(created.invitation.email) as \(created.invitation.role.rawValue) (\(created.invitation.id)).")
            print("Send them this link; it works once, until \(Output.date(created.invitation.expiresAt)):")
            print("")
            print("  " + created.url)
        }
    }

    struct Role: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "role", abstract: "Change a member's role (the last owner cannot be demoted).")
        @Argument(help: "The member's email or id (usr_…).") var member: String
        @Argument(help: "owner, admin, operator or viewer.") var role: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let parsed: MemberRole
            do throws(DomainError) { parsed = try MemberRole.parse(role) } catch { throw CLIError("role: \(error.message)") }
            let data = try await options.client().raw("PATCH", "/api/v1/members/\(member.pathSegment)", body: MemberUpdate(role: parsed))
            if options.json { return Output.json(data) }
            let changed = try HubDecoding.decode(MemberView.self, data)
            print("\(changed.email) is now \(changed.role.rawValue).")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove", abstract: "Remove a member: their sessions end and their API tokens stop working at once.")
        @Argument(help: "The member's email or id (usr_…).") var member: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("DELETE", "/api/v1/members/\(member.pathSegment)")
            if options.json { return Output.json(data) }
            print("Removed \(member); their sessions and API tokens no longer work.")
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "withdraw", abstract: "Withdraw an invitation that was not accepted yet.")
        @Argument(help: "The invitation's id (inv_…), from mzpanel members list.") var invitation: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("DELETE", "/api/v1/invitations/\(invitation.pathSegment)")
            if options.json { return Output.json(data) }
            print("Withdrew invitation \(invitation); its link no longer works.")
        }
    }
}

struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions", abstract: "List and end your signed-in browser sessions (needs an admin token).",
        subcommands: [List.self, Revoke.self], defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List your signed-in browsers.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/sessions")
            if options.json { return Output.json(data) }
            let sessions = try HubDecoding.decode(SessionList.self, data).sessions
            if sessions.isEmpty { return print("No browser is signed in.") }
            Output.table(["ID", "SIGNED IN", "ENDS"], sessions.map { [$0.id, Output.date($0.createdAt), Output.date($0.expiresAt)] })
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "End a browser session (it must sign in again).")
        @Argument(help: "The session's id (ses_…), from mzpanel sessions list.") var session: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("DELETE", "/api/v1/sessions/\(session.pathSegment)")
            if options.json { return Output.json(data) }
            print("Ended session \(session).")
        }
    }
}
