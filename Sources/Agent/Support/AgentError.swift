/// An error of the agent in words a person can act on: what went wrong and what to do.
/// Messages never contain secrets (credentials, passwords, tokens).
public struct AgentError: Error, Sendable, CustomStringConvertible, Equatable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
