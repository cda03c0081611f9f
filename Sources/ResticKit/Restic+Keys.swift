import Foundation

/// One key of a repository (`restic key list --json`): a password that opens it.
public struct ResticKey: Sendable, Equatable, Decodable {
    public var id: String
    /// True for the key the listing's own password opened.
    public var current: Bool
    public var userName: String?
    public var hostName: String?
    public var created: String?
}

extension Restic {
    // MARK: Keys

    /// The repository's keys, as seen with its current password.
    public func keys(_ repository: ResticRepository) async throws -> [ResticKey] {
        let output = try await run(repository, ["key", "list"], noLock: false)
        guard output.succeeded else { throw failure(output, repository, operation: "listing the repository's keys") }
        guard let line = output.stdout.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("[") }),
            let keys = try? JSONDecoder().decode([ResticKey].self, from: Data(line.utf8))
        else {
            throw ResticError(kind: .other, message: "restic's key list could not be read")
        }
        return keys
    }

    /// Adds a key for `newPassword` to a repository opened with its current password. The new
    /// password reaches restic through a pipe on its standard input, never an argument or a file.
    public func addKey(_ repository: ResticRepository, newPassword: String) async throws {
        guard !newPassword.isEmpty else { throw ResticError.invalidArgument("the new repository password is empty") }
        let input = Pipe()
        input.fileHandleForWriting.write(Data(newPassword.utf8))
        try? input.fileHandleForWriting.close()
        let output = try await run(repository, ["key", "add", "--new-password-file=/dev/stdin"], json: false, stdin: input)
        try? input.fileHandleForReading.close()
        guard output.succeeded else {
            throw failure(output, repository, operation: "adding a repository key", extraSecrets: [newPassword])
        }
    }

    /// Removes one key (never the one the repository was opened with: restic refuses that).
    public func removeKey(_ repository: ResticRepository, id: String) async throws {
        guard !id.isEmpty, id.allSatisfy({ $0.isHexDigit }) else {
            throw ResticError.invalidArgument("\"\(id)\" is not a restic key id")
        }
        let output = try await run(repository, ["key", "remove", id], json: false)
        guard output.succeeded else { throw failure(output, repository, operation: "removing repository key \(id)") }
    }
}
