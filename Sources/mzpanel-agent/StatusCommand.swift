import Agent
import ArgumentParser
import Foundation
import HubAPI
import LinkProtocol

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show this agent's identity, jobs and next runs, outbox depth, running and last runs."
    )

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var stateOptions: StateOptions

    func run() throws {
        let report = StatusReport.collect(state: stateOptions.state)
        if json {
            let encoder = HubJSON.encoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text)
        }
    }
}

struct FingerprintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fingerprint",
        abstract: "Print the fingerprint of this server's key (compare it with the hub's server page)."
    )

    @OptionGroup var stateOptions: StateOptions

    func run() throws {
        print(try ServerKey.load(from: stateOptions.state.serverKeyFile).fingerprint)
    }
}
