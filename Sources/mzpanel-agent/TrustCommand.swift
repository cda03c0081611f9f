import Agent
import ArgumentParser
import Foundation
import Sealing

/// `mzpanel-agent trust`: the account key this box pinned. Only a person on the box can change
/// it; the hub cannot (docs/security.md).
struct TrustCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust",
        abstract: "Show or reset the account key this server pinned; it runs only jobs and destinations signed with it.",
        subcommands: [Show.self, Reset.self], defaultSubcommand: Show.self)

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Print the pinned account key's fingerprint.")
        @OptionGroup var stateOptions: StateOptions

        func run() throws {
            guard let key = ManifestTrust(state: stateOptions.state).pinnedKey() else {
                return print("No account key pinned: this server runs what the hub sends (the account has no vault yet).")
            }
            print(KeyFingerprint.of(key))
        }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset",
            abstract: "Forget the pinned account key (after the account's key really changed); the next job sync pins the hub's key.",
            discussion: "Give --account-key with the fingerprint shown on your account page to pin only that key at the next sync.")
        @Option(name: .customLong("account-key"), help: ArgumentHelp("Pin only a key with this fingerprint.", valueName: "FINGERPRINT"))
        var accountKey: String?
        @OptionGroup var stateOptions: StateOptions

        func run() throws {
            let trust = ManifestTrust(state: stateOptions.state)
            try trust.reset(expecting: accountKey)
            print(
                "Forgot the pinned account key. The next job sync pins "
                    + (accountKey.map { "the hub's key if its fingerprint is \($0)" } ?? "the key the hub sends (trust on first use)") + ".")
        }
    }
}
