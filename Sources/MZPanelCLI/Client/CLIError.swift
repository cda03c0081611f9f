/// An error the CLI reports on stderr before exiting non-zero. Messages say what to do.
public struct CLIError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let exitCode: Int32

    public init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String { message }

    static func notLoggedIn() -> CLIError {
        CLIError("not logged in: run `mzpanel login --url URL --token-file FILE`, or set MZPANEL_URL and MZPANEL_TOKEN", exitCode: 2)
    }
}
