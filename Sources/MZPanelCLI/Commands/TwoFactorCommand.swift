import ArgumentParser
import BackupCore
import Foundation
import HubAPI

struct TwoFactorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "two-factor", abstract: "Two-factor sign-in (TOTP) for the web hub: status, enable, disable; owners can require it.",
        subcommands: [Status.self, Enable.self, Disable.self, Require.self], defaultSubcommand: Status.self
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Whether you sign in with a code, and whether the account requires it.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/account/two-factor")
            if options.json { return Output.json(data) }
            let status = try HubDecoding.decode(TwoFactorStatus.self, data)
            print(status.enabled ? "Two-factor sign-in is on (\(status.recoveryCodesLeft) recovery codes left)." : "Two-factor sign-in is off.")
            if status.required { print("The account requires it of every member.") }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enable", abstract: "Set up an authenticator app: prints the otpauth link and secret, then asks for the app's code.")
        @Option(name: .long, help: "File holding the app's current code (- for standard input); asked on the terminal otherwise.")
        var codeFile: String?
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = try options.client()
            let enrolment = try HubDecoding.decode(TwoFactorEnrolment.self, try await client.raw("POST", "/api/v1/account/two-factor"))
            print("Add this to your authenticator app (as a link, or type the secret):")
            print("")
            print("  " + enrolment.uri)
            print("  secret: " + enrolment.secret)
            print("")
            let code =
                try codeFile.map { try SecretInput.read(file: $0, what: "code") } ?? SecretInput.prompt("Code from the app", flag: "--code-file")
            let data = try await client.raw("POST", "/api/v1/account/two-factor/confirm", body: TwoFactorCode(code: code))
            if options.json { return Output.json(data) }
            let enabled = try HubDecoding.decode(TwoFactorEnabled.self, data)
            print("Two-factor sign-in is on. Recovery codes (each works once; shown only now — keep them safe):")
            print("")
            for recovery in enabled.recoveryCodes { print("  " + recovery) }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disable", abstract: "Turn two-factor sign-in off (asks for a code or a recovery code).")
        @Option(name: .long, help: "File holding a current code or a recovery code (- for standard input).") var codeFile: String?
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let code =
                try codeFile.map { try SecretInput.read(file: $0, what: "code") } ?? SecretInput.prompt("Code or recovery code", flag: "--code-file")
            let data = try await options.client().raw("POST", "/api/v1/account/two-factor/disable", body: TwoFactorCode(code: code))
            if options.json { return Output.json(data) }
            print("Two-factor sign-in is off.")
        }
    }

    struct Require: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "require", abstract: "Require two-factor sign-in of every member (owners); --off to stop requiring it.")
        @Flag(name: .long, help: "Stop requiring it.") var off = false
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("PUT", "/api/v1/account/two-factor-policy", body: TwoFactorPolicy(required: !off))
            if options.json { return Output.json(data) }
            print(off ? "Members may sign in without a code." : "Every member must sign in with a code; members without one are sent to set it up.")
        }
    }
}
