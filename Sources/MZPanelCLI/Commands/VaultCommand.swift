import ArgumentParser
import BackupCore
import Foundation
import HubAPI
import Sealing

/// Members' own access to the vault (docs/sealing.md, "Member wrappings"): each member makes a key under their own
/// passphrase; someone who can open the vault seals the vault key to it after comparing fingerprints. Then the
/// member opens the vault with their own passphrase, and the shared vault passphrase need not be shared.
struct VaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault",
        abstract: "Your own access to the account vault: make your member key, list members' keys, grant or revoke the vault to one.",
        subcommands: [MemberKey.self, Members.self, Grant.self, Revoke.self], defaultSubcommand: Members.self
    )

    struct MemberKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "member-key",
            abstract: "Make your own member key under your own passphrase (replacing one drops its grant); prints its fingerprint.",
            discussion: """
                Give the fingerprint it prints to someone who can open the vault, by a channel other than the hub; they run \
                `mzpanel vault grant YOUR-EMAIL --fingerprint FINGERPRINT`. Your passphrase never leaves this machine.
                """)
        @Option(name: .long, help: "A file holding your own new passphrase (or - for standard input). Default: a prompt, asked twice.")
        var passphraseFile: String?
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = try options.client()
            let accountID = try await VaultAccess(client: client, options: try VaultOptions.parse([])).accountID()
            let list = try await client.send("GET", "/api/v1/vault/members", as: MemberVaultList.self)
            guard let memberID = list.you else {
                throw CLIError("this API token belongs to no member; sign in again (`mzpanel login`) or use a member's token")
            }
            let passphrase: String
            if let passphraseFile {
                passphrase = try SecretInput.read(file: passphraseFile, what: "member passphrase")
            } else {
                passphrase = try SecretInput.prompt("Your own new passphrase", flag: "--passphrase-file")
                guard try SecretInput.prompt("Your own new passphrase again", flag: "--passphrase-file") == passphrase else {
                    throw CLIError("the two passphrases differ; nothing was changed")
                }
            }
            let key: MemberKeyDocument
            do {
                key = try MemberVault.createKey(accountID: accountID, memberID: memberID, passphrase: passphrase).0
            } catch let error as SealingError {
                throw CLIError(error.description)
            }
            let data = try await client.raw("PUT", "/api/v1/vault/member-key", body: MemberKeyRequest(key: key))
            if options.json { return Output.json(data) }
            print("Your member key: \(key.keyID)")
            print("Give this fingerprint to someone who can open the vault (not through the hub); they run:")
            print("  mzpanel vault grant \(list.members.first { $0.memberID == memberID }?.email ?? memberID) --fingerprint \(key.keyID)")
        }
    }

    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "members", abstract: "Members' vault keys: fingerprint and whether the vault is granted to it.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/vault/members")
            if options.json { return Output.json(data) }
            let list = try HubDecoding.decode(MemberVaultList.self, data)
            guard !list.members.isEmpty else { return print("No member has a member key yet (`mzpanel vault member-key`).") }
            for member in list.members {
                print("\(member.email ?? member.memberID)  \(member.keyID)  \(member.wrapped ? "granted" : "not granted")")
            }
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grant",
            abstract: "Seal the vault key to a member's key (unlocks the vault), after checking the fingerprint they read on their own screen.")
        @Argument(help: "The member's email or id.") var member: String
        @Option(name: .long, help: "The fingerprint `mzpanel vault member-key` printed on the member's own screen.") var fingerprint: String
        @OptionGroup var vault: VaultOptions
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = try options.client()
            let list = try await client.send("GET", "/api/v1/vault/members", as: MemberVaultList.self)
            let wanted = member.trimmingCharacters(in: .whitespaces)
            guard let entry = list.members.first(where: { $0.memberID == wanted || $0.email?.lowercased() == wanted.lowercased() }) else {
                throw CLIError("\(member) has no member key yet: they run `mzpanel vault member-key` first (or check the email)")
            }
            guard KeyFingerprint.normalized(fingerprint) == KeyFingerprint.normalized(entry.key.keyID), entry.keyID == entry.key.keyID else {
                throw CLIError(
                    """
                    the member key the hub holds for \(entry.email ?? entry.memberID) has fingerprint \(entry.key.keyID), not \(fingerprint): \
                    nothing was granted. If they made a new key, ask for its fingerprint again; otherwise the hub's key is not theirs.
                    """)
            }
            let access = VaultAccess(client: client, options: vault)
            let accountID = try await access.accountID()
            let unlocked = try await access.open(accountID: accountID, create: false)
            let wrapping: Data
            do {
                wrapping = try MemberVault.wrap(vaultKey: unlocked.vaultKey, accountID: accountID, for: entry.key)
            } catch let error as SealingError {
                throw CLIError(error.description)
            }
            let data = try await client.raw(
                "PUT", "/api/v1/vault/members/\(entry.memberID.pathSegment)/wrapping",
                body: MemberWrappingRequest(keyID: entry.key.keyID, wrapping: String(decoding: wrapping, as: UTF8.self)))
            if options.json { return Output.json(data) }
            print("Granted the vault to \(entry.email ?? entry.memberID) (member key \(entry.key.keyID)): they open it with their own passphrase.")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Remove the vault key sealed to a member's key. The vault key is unchanged: rotate it if they may have kept it.")
        @Argument(help: "The member's email or id.") var member: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("DELETE", "/api/v1/vault/members/\(member.pathSegment)/wrapping")
            if options.json { return Output.json(data) }
            print("Removed \(member)'s wrapping of the vault. The vault key itself is unchanged.")
        }
    }
}
