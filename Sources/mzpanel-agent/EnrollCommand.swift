import Agent
import ArgumentParser
import Foundation

struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enroll this server with the hub (creates its key, stores the credential, writes the job timers)."
    )

    @Option(help: ArgumentHelp("The hub's URL, as `mzpanel servers add` prints it.", valueName: "URL"))
    var url: String

    @Option(help: ArgumentHelp("The one-time enrollment token (prefer --token-file to keep it out of the process list).", valueName: "TOKEN"))
    var token: String?

    @Option(name: .customLong("token-file"), help: ArgumentHelp("Read the token from a file, or - for standard input.", valueName: "FILE"))
    var tokenFile: String?

    @Option(
        name: .customLong("account-key"),
        help: ArgumentHelp(
            "The account key fingerprint the hub printed with this command: the key the hub answers with is pinned only if it matches.",
            valueName: "FINGERPRINT"))
    var accountKey: String?

    @Option(
        name: .customLong("ca-file"),
        help: ArgumentHelp(
            "A PEM file of the certificate authority that signed the hub's certificate (a private CA). Stored in the state and trusted alone for every later call; without it, the system's CAs.",
            valueName: "FILE"))
    var caFile: String?

    @OptionGroup var stateOptions: StateOptions

    @Option(name: .customLong("systemd-dir"), help: ArgumentHelp("Where to write the job timers.", valueName: "DIR"))
    var systemdDirectory: String = AgentSettings.defaultSystemdDirectory

    @Flag(name: .customLong("no-systemd"), help: "Write no systemd units; the daemon fires the schedules itself.")
    var noSystemd = false

    @Option(name: .customLong("randomized-delay"), help: ArgumentHelp("RandomizedDelaySec of the timers, in seconds.", valueName: "SECONDS"))
    var randomizedDelay: Int = 60

    @Flag(help: "Enroll again even though this state directory is already enrolled.")
    var force = false

    func validate() throws {
        if token != nil && tokenFile != nil { throw ValidationError("give either --token or --token-file, not both") }
        if token == nil && tokenFile == nil {
            throw ValidationError("give the enrollment token with --token TOKEN or --token-file FILE (- for standard input)")
        }
        if !(0...86400).contains(randomizedDelay) { throw ValidationError("--randomized-delay must be 0 to 86400 seconds") }
    }

    func run() async throws {
        let secret = try token ?? TokenInput.read(file: tokenFile ?? "-")
        let settings = AgentSettings(systemdDirectory: noSystemd ? nil : systemdDirectory, randomizedDelaySeconds: randomizedDelay)
        let result = try await Enrollment(state: stateOptions.state, settings: settings).enroll(
            url: url, token: secret, force: force, caFile: caFile, accountKey: accountKey)
        print("Enrolled as server \(result.identity.serverName) (\(result.identity.serverID)) with \(result.identity.hubURL).")
        print("Server key fingerprint: \(result.fingerprint)")
        if let pinned = result.accountKey {
            print(
                "Account key pinned: \(pinned)"
                    + (result.pinnedOnFirstUse ? " (trust on first use: check it against the fingerprint on your account page)" : " (matches)")
                    + "; this server runs only jobs and destinations signed with it.")
        } else {
            print("No account key yet (the account has no vault): this server runs what the hub sends until it pins one.")
        }
        if let count = result.jobCount {
            print(
                "\(count) job\(count == 1 ? "" : "s") fetched"
                    + (settings.systemdDirectory.map { "; timers in \($0)" } ?? "; no systemd units (the daemon fires the schedules)") + ".")
        }
        for warning in result.warnings { print("Warning: \(warning)") }
        print(
            "Next: start the daemon (`mzpanel-agent daemon\(stateOptions.stateDirectory == AgentState.defaultDirectory ? "" : " --state-dir \(stateOptions.stateDirectory)")`) so run-now and job changes reach this server."
        )
    }
}

enum TokenInput {
    /// A file's first line, or standard input's for `-`.
    static func read(file: String) throws -> String {
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: file) else {
                throw AgentError("cannot read the token file \(file); check the path and its permissions")
            }
            data = contents
        }
        let line = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let value = line.trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { throw AgentError("the token file \(file) is empty; put the token from `mzpanel servers add` in it") }
        return value
    }
}
