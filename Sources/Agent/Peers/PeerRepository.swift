import BackupCore
import Foundation
import ResticKit

/// The repository of a peer destination on a source server: `rest:https://user:pass@host:port/user/`
/// on the storage server's `rclone serve restic`, its certificate pinned with `--cacert`. The login
/// comes from this server's envelope; the location holds it, so ResticKit hands the location to
/// restic through its environment, never its arguments.
enum PeerRepository {
    static func make(destination: Destination, access context: RepositoryAccess, environment: [String: String], login: [String: String]) throws
        -> ResticRepository
    {
        var user = login["restUser"]
        var password = login["restPassword"]
        if context.repositoryServerID != context.identity.serverID {
            // Another server's repository (disaster recovery): its recovery login, sealed to this server.
            guard login["recoverUser"] == context.repositoryServerID else {
                throw OffsiteRepository.Failure(
                    description:
                        "this server holds no recovery login for \(context.repositoryServerID)'s repository at \(destination.name); run mzpanel destinations attach \(destination.name) --server \(context.identity.serverName) --recover-from \(context.repositoryServerID)"
                )
            }
            (user, password) = (login["recoverUser"], login["recoverPassword"])
        }
        guard let user, let password, !user.isEmpty, !password.isEmpty else {
            throw OffsiteRepository.Failure(
                description: "the envelope of \(destination.name) holds no peer login; seal the destination to this server again")
        }
        guard let address = destination.settings.peerAddress else {
            throw OffsiteRepository.Failure(description: "the peer destination \(destination.name) has no address; set it on the hub")
        }
        guard let certificate = context.peerCertificates?[destination.id] else {
            throw OffsiteRepository.Failure(
                description:
                    "the storage server of \(destination.name) has not reported its certificate yet; is its agent running (mzpanel-agent daemon)?")
        }
        let directory = context.state.directory + "/peer-certificates"
        try SecureFile.makeDirectory(directory)
        let path = directory + "/" + destination.id + ".pem"
        try SecureFile.write(Data(certificate.utf8), to: path, mode: 0o644)
        let safe = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_"))
        guard user.unicodeScalars.allSatisfy(safe.contains), password.unicodeScalars.allSatisfy(safe.contains) else {
            throw OffsiteRepository.Failure(
                description: "the peer login of \(destination.name) has characters a URL cannot carry; seal the destination to this server again")
        }
        return ResticRepository(location: "rest:https://\(user):\(password)@\(address)/\(user)/", environment: environment, caCertificatePath: path)
    }
}
