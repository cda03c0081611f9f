import BackupCore
import Foundation
import LinkProtocol
import Logging

/// On a storage server: serves each peer destination it stores with `rclone serve restic`
/// (TLS with its own self-signed certificate, `--private-repos`, one htpasswd login per source
/// server), restarts it when its logins change or it dies, and reports certificate and space.
actor PeerSupervisor {
    private struct Served {
        let process: Process
        /// What it was started with; a change restarts it.
        let configuration: String
    }

    private let state: AgentState
    private let logger: Logger
    private var served: [String: Served] = [:]
    private var stores: [PeerStore] = []
    private var usage: [String: (at: Date, settings: DestinationSettings, bytes: [String: Int64])] = [:]

    init(state: AgentState, logger: Logger) {
        self.state = state
        self.logger = logger
    }

    static let defaultRoot = "/var/backups/mzpanel-peer"

    /// Brings the served destinations in line with `stores` and reports each to the hub.
    func reconcile(_ stores: [PeerStore], link: HubLink?) async {
        self.stores = stores
        let wanted = Set(stores.map(\.destination.id))
        for (id, entry) in served where !wanted.contains(id) {
            logger.info(
                "peer destination no longer stored here: stopping its server (the stored backups stay)", metadata: ["destination.id": "\(id)"])
            stop(entry.process)
            served[id] = nil
        }
        for store in stores {
            let report = serve(store)
            guard let link else { continue }
            do {
                try await link.reportPeer(report)
            } catch {
                logger.warning(
                    "could not report a peer destination to the hub", metadata: ["destination.id": "\(store.destination.id)", "error": "\(error)"])
            }
        }
    }

    /// Restarts servers that died (called every few seconds by the daemon).
    func restartDead() {
        for store in stores where served[store.destination.id].map({ !$0.process.isRunning }) ?? false {
            logger.warning("rclone serve restic stopped; starting it again", metadata: ["destination.id": "\(store.destination.id)"])
            served[store.destination.id] = nil
            _ = serve(store)
        }
    }

    func stopAll() {
        for entry in served.values { stop(entry.process) }
        served.removeAll()
    }

    // MARK: One destination

    private func directory(_ destination: Destination) -> String { state.directory + "/peer/" + destination.id }
    private func root(_ destination: Destination) -> String { destination.settings.path ?? Self.defaultRoot + "/" + destination.id }

    private func serve(_ store: PeerStore) -> PeerReport {
        let destination = store.destination
        let root = root(destination)
        var report = PeerReport(destinationID: destination.id, certificate: nil, listening: false, freeBytes: nil, usedBytes: [:])
        do {
            guard let address = destination.settings.peerAddress, let (host, port) = Self.split(address) else {
                throw AgentError("the destination has no valid address (host:port)")
            }
            let directory = directory(destination)
            try SecureFile.makeDirectory(directory)
            if let warning = try PeerRoot.prepare(root, destinationID: destination.id) {
                logger.warning(
                    "peer storage directory readable by others", metadata: ["destination.id": "\(destination.id)", "problem": "\(warning)"])
            }
            let certificate = try PeerCertificate.ensure(directory: directory, host: host)
            report.certificate = certificate
            let htpasswd = store.logins.sorted().joined(separator: "\n") + "\n"
            try SecureFile.write(Data(htpasswd.utf8), to: directory + "/htpasswd")
            let configuration = [root, String(port), htpasswd, certificate].joined(separator: "\u{0}")
            if let current = served[destination.id], current.configuration == configuration, current.process.isRunning {
                report.listening = true
            } else {
                if let current = served[destination.id] { stop(current.process) }
                served[destination.id] = nil
                let process = try start(directory: directory, root: root, port: port)
                served[destination.id] = Served(process: process, configuration: configuration)
                report.listening = Self.waitForPort(port, process: process)
                if !report.listening {
                    report.error = "rclone serve restic did not start listening on port \(port): " + Self.tail(directory + "/rclone.log")
                } else {
                    logger.info(
                        "serving a peer destination",
                        metadata: [
                            "destination.id": "\(destination.id)", "root": "\(root)", "port": "\(port)", "source_servers": "\(store.logins.count)",
                        ])
                }
            }
        } catch {
            report.error = "\(error)"
            logger.error("could not serve a peer destination", metadata: ["destination.id": "\(destination.id)", "error": "\(error)"])
        }
        report.freeBytes = Self.freeBytes(root)
        report.usedBytes = usedBytes(destination, root: root)
        return report
    }

    private func start(directory: String, root: String, port: Int) throws -> Process {
        guard let rclone = ProgramLocator.find("rclone") else {
            throw AgentError("rclone is not installed; install it (apt-get install rclone) to store peer backups on this server")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: rclone)
        process.arguments = [
            // --append-only: a source can add snapshots but never delete or overwrite what is
            // stored, so a compromised source cannot erase its own history here.
            "serve", "restic", root, "--addr", ":\(port)", "--private-repos", "--append-only",
            "--htpasswd", directory + "/htpasswd", "--cert", directory + "/cert.pem", "--key", directory + "/key.pem",
        ]
        // A clean environment: no credentials, and no AWS_CA_BUNDLE or RCLONE_* from the daemon's.
        process.environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": state.directory, "RCLONE_CONFIG": directory + "/rclone-empty.conf"]
        FileManager.default.createFile(atPath: directory + "/rclone.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/rclone.log"))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    private func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// Bytes stored per source server (its top-level directory), measured at most every 10 minutes
    /// and whenever the destination's settings (its quota) change.
    private func usedBytes(_ destination: Destination, root: String) -> [String: Int64] {
        let id = destination.id
        if let cached = usage[id], cached.settings == destination.settings, Date().timeIntervalSince(cached.at) < 600 { return cached.bytes }
        var bytes: [String: Int64] = [:]
        for user in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where user != PeerRoot.marker {
            var total: Int64 = 0
            if let files = FileManager.default.enumerator(atPath: root + "/" + user) {
                for case let file as String in files {
                    total += Int64((try? FileManager.default.attributesOfItem(atPath: root + "/" + user + "/" + file)[.size] as? Int) ?? 0)
                }
            }
            bytes[user] = total
        }
        usage[id] = (Date(), destination.settings, bytes)
        return bytes
    }

    static func split(_ address: String) -> (String, Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return nil }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    static func freeBytes(_ path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Polls until something accepts TCP connections on the port (up to 10 s) or the process exits.
    static func waitForPort(_ port: Int, process: Process) -> Bool {
        for _ in 0..<100 {
            if !process.isRunning { return false }
            if portAccepts(port) { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    static func portAccepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    static func tail(_ path: String) -> String {
        let text = (FileManager.default.contents(atPath: path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return text.split(whereSeparator: \.isNewline).suffix(3).joined(separator: " / ")
    }
}

/// The storage server's self-signed TLS certificate for one peer destination (made once with
/// openssl; the private key stays in the agent's state directory, 0600).
enum PeerCertificate {
    static func ensure(directory: String, host: String) throws -> String {
        let certificate = directory + "/cert.pem"
        let key = directory + "/key.pem"
        if let existing = try SecureFile.read(certificate), FileManager.default.fileExists(atPath: key) {
            return String(decoding: existing, as: UTF8.self)
        }
        guard let openssl = ProgramLocator.find("openssl") else {
            throw AgentError("openssl is not installed; install it to make the peer server's certificate")
        }
        let isAddress = host.allSatisfy { $0.isNumber || $0 == "." } || host.contains(":")
        // The key file exists (0600) before openssl writes into it: never readable by others.
        try SecureFile.write(Data(), to: key)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "3650", "-subj", "/CN=mzpanel peer \(host)",
            "-addext", "subjectAltName=\(isAddress ? "IP" : "DNS"):\(host)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let made = try SecureFile.read(certificate) else {
            throw AgentError("openssl could not make the peer server's certificate (exit \(process.terminationStatus))")
        }
        return String(decoding: made, as: UTF8.self)
    }
}
