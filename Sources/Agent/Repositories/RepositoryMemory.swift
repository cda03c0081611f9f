import Crypto
import Foundation
import ResticKit

/// What the agent has learned about the repositories it writes to, so a re-run starts no restic
/// process whose answer is already known: `repositories/<sha256 of the location>` exists once the
/// agent has created or opened the repository there.
///
/// The memory is a hint, never the truth: a backup that finds no repository where one was
/// remembered forgets it and creates the repository again (`DestinationCopy`).
struct RepositoryMemory: Sendable {
    let directory: String

    init(state: AgentState) {
        directory = state.directory + "/repositories"
    }

    /// True when a repository was seen at this location by an earlier run.
    func isKnownInitialized(_ repository: ResticRepository) -> Bool {
        FileManager.default.fileExists(atPath: file(for: repository))
    }

    /// Remembers that a repository exists at this location (best effort: a failure only costs a check next time).
    func rememberInitialized(_ repository: ResticRepository) {
        try? SecureFile.makeDirectory(directory)
        try? SecureFile.write(Data("initialized\n".utf8), to: file(for: repository))
    }

    func forget(_ repository: ResticRepository) {
        SecureFile.remove(file(for: repository))
    }

    /// The file for a location; hashed because a location may hold credentials.
    private func file(for repository: ResticRepository) -> String {
        let digest = SHA256.hash(data: Data(repository.location.utf8))
        return directory + "/" + digest.map { String(format: "%02x", $0) }.joined()
    }
}

/// Whether a repository may hold stale restic locks, i.e. whether `restic unlock` has anything to do.
enum StaleLocks {
    /// False only when it is certain there is no lock at all: a local repository whose `locks/`
    /// folder is empty. Remote repositories (and anything unreadable) answer true: unlock runs.
    /// A lock created after this look belongs to a live process, which unlock would keep anyway.
    static func mayExist(in repository: ResticRepository) -> Bool {
        guard repository.location.hasPrefix("/") else { return true }
        let locks = repository.location + "/locks"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: locks) else { return true }
        return !entries.isEmpty
    }
}
