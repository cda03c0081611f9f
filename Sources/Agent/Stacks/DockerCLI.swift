import Foundation

/// The `docker` command-line client as the agent uses it: one call, its whole output, the engine's
/// own words on failure. The engine is the one `DOCKER_HOST` names (default: the local socket).
public struct DockerCLI: Sendable {
    public var executable: String
    public var environment: [String: String]

    public init(executable: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.executable = executable
        self.environment = environment
    }

    /// The client found on this machine, or an error saying to install it.
    public static func located(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DockerCLI {
        guard let path = ProgramLocator.find("docker", environment: environment) else {
            throw AgentError("the docker command is not installed, so Docker stacks cannot be discovered; install Docker (docker.io)")
        }
        return DockerCLI(executable: path, environment: environment)
    }

    /// Runs `docker ARGUMENTS` and returns its standard output; a failure carries the last line of
    /// its standard error.
    public func run(_ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // stderr is drained beside stdout so neither pipe can fill and stall the client.
        let errorData = ErrorBox()
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errorData.set(errors.fileHandleForReading.readDataToEndOfFile())
            drained.signal()
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: errorData.get(), as: UTF8.self)
            let line = text.split(separator: "\n").last.map(String.init) ?? "exit status \(process.terminationStatus)"
            throw AgentError("docker \(arguments.first ?? "") failed: \(line)")
        }
        return data
    }
}

private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}
