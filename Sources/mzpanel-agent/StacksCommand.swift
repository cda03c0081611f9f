import Agent
import ArgumentParser
import BackupCore
import Foundation
import HubAPI

struct StacksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stacks",
        abstract: "List the Docker Compose stacks on this server: services, named volumes, bind mounts and databases."
    )

    @Flag(help: "Print JSON.")
    var json = false

    @Option(help: "Only this compose project.")
    var project: String?

    func run() throws {
        let stacks = try StackDiscovery(docker: DockerCLI.located()).stacks(project: project)
        if json {
            let encoder = HubJSON.encoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(stacks), as: UTF8.self))
        } else if stacks.isEmpty {
            print("No Docker Compose stacks on this server.")
        } else {
            print(stacks.map { $0.textLines.joined(separator: "\n") }.joined(separator: "\n\n"))
        }
    }
}
