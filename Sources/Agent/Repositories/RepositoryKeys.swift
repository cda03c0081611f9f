import BackupCore
import Crypto
import Foundation
import ResticKit

/// The repository half of `mzpanel destinations rotate`: the rotated credential carries a new
/// repository password and the former ones. Before a repository is used, a repository that only
/// a former password opens gets a key for the new one, and every other key is removed — the
/// former key, and any key a revoked server may have added with the password it knew. From then
/// on the former password opens nothing. Only this server's own repository is re-keyed (under
/// the box's lock of that repository, so no two runs race); another server's repository (a
/// restore across servers) is read with the former password until its own server re-keys it.
enum RepositoryKeys {
    /// The repository to use: as given when its password opens it (or there is none yet), else
    /// re-keyed (own repository) or opened with the former password that works (another's).
    static func settle(
        _ repository: ResticRepository, restic: Restic, state: AgentState, own: Bool, log: (String) -> Void
    ) async throws -> ResticRepository {
        guard !repository.formerPasswords.isEmpty, let password = repository.environment["RESTIC_PASSWORD"] else { return repository }
        let memory = SettledKeys(state: state)
        guard own else { return try await open(repository, password: password, restic: restic, rekey: nil, log: log) }
        if memory.isSettled(repository, password: password) { return repository }
        return try await RepositoryLock.withLock(directory: state.locksDirectory, repository: repository.location) {
            try await open(repository, password: password, restic: restic, rekey: memory, log: log)
        }
    }

    /// Opens with the current password, else with the first former one that works: re-keyed when
    /// `rekey` is given (own repository, under its lock), read as it is otherwise.
    private static func open(
        _ repository: ResticRepository, password: String, restic: Restic, rekey memory: SettledKeys?, log: (String) -> Void
    ) async throws -> ResticRepository {
        do {
            _ = try await restic.isInitialized(repository)
            memory?.remember(repository, password: password)
            return repository
        } catch let error as ResticError where error.kind == .wrongPassword {
            for former in repository.formerPasswords where !former.isEmpty && former != password {
                var old = repository
                old.environment["RESTIC_PASSWORD"] = former
                guard (try? await restic.isInitialized(old)) == true else { continue }
                guard let memory else {
                    log(
                        "the repository at \(repository.displayLocation) still has its former key (its server has not used it since the credential was rotated); reading it with that key"
                    )
                    return old
                }
                try await restic.addKey(old, newPassword: password)
                let stale = try await restic.keys(repository).filter { !$0.current }
                for key in stale { try await restic.removeKey(repository, id: key.id) }
                memory.remember(repository, password: password)
                log(
                    "the destination's credential was rotated: added the repository key of the new password and removed \(stale.count) older key\(stale.count == 1 ? "" : "s") (\(stale.map(\.id).joined(separator: ", "))); the former password no longer opens \(repository.displayLocation)"
                )
                return repository
            }
            throw error
        }
    }
}

/// Repositories this box already re-keyed to a credential's password: `repository-keys/<sha256 of
/// location and password>`, so later runs start no extra restic process. A hint only: a re-keyed
/// repository whose password stops working fails as any wrong password does.
private struct SettledKeys {
    let directory: String

    init(state: AgentState) { directory = state.directory + "/repository-keys" }

    func isSettled(_ repository: ResticRepository, password: String) -> Bool {
        FileManager.default.fileExists(atPath: file(repository, password))
    }

    func remember(_ repository: ResticRepository, password: String) {
        try? SecureFile.makeDirectory(directory)
        try? SecureFile.write(Data("settled\n".utf8), to: file(repository, password))
    }

    private func file(_ repository: ResticRepository, _ password: String) -> String {
        let digest = SHA256.hash(data: Data((repository.location + "\n" + password).utf8))
        return directory + "/" + digest.map { String(format: "%02x", $0) }.joined()
    }
}
