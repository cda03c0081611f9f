import ArgumentParser
import BackupCore
import ControlPlane
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import MZPanelCLI
import Store

/// Options that say where the hub keeps its state; shared by `serve` and `admin`.
struct HubStateOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "Directory for the hub's state (SQLite file). Default: $MZPANEL_DATA_DIR, else /var/lib/mzpanel as root, else ~/.local/share/mzpanel.")
    var dataDir: String?

    @Option(
        name: .long,
        help:
            "A postgres:// URL to store state in PostgreSQL instead of SQLite. Default: $MZPANEL_DATABASE_URL. Prefer the variable: a URL with a password is visible in the process list."
    )
    var database: String?

    var resolvedDataDir: String {
        if let dataDir { return dataDir }
        if let fromEnvironment = ProcessInfo.processInfo.environment["MZPANEL_DATA_DIR"], !fromEnvironment.isEmpty { return fromEnvironment }
        if getuid() == 0 { return "/var/lib/mzpanel" }
        return (ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()) + "/.local/share/mzpanel"
    }

    var resolvedDatabase: String? { database ?? ProcessInfo.processInfo.environment["MZPANEL_DATABASE_URL"].nonEmpty }

    /// Opens the store, creating the data directory (0700) for SQLite.
    func openStore(logger: Logger) async throws -> SQLHubStore {
        let directory = resolvedDataDir
        // The database holds token hashes and sealed envelopes: owner-only, like every file the hub writes.
        umask(0o077)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIError("cannot create the data directory \(directory): \(error.localizedDescription)")
        }
        do {
            return try await SQLHubStore.open(database: resolvedDatabase, sqlitePath: directory + "/hub.sqlite", logger: logger)
        } catch let error as StoreError {
            throw CLIError(error.description)
        }
    }
}

extension Optional where Wrapped == String {
    /// The value trimmed, unless it is empty.
    fileprivate var nonEmpty: String? {
        guard let value = self?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the hub: API (and later web UI and agent link).")

    @OptionGroup var state: HubStateOptions

    @Option(name: .long, help: "Address to listen on, HOST:PORT. Default: $MZPANEL_LISTEN, else 127.0.0.1:8780.")
    var listen: String?

    @Option(
        name: .long, help: "The URL agents and browsers use to reach this hub. Default: $MZPANEL_PUBLIC_URL, else http(s)://LISTEN.")
    var publicURL: String?

    @Option(
        name: .long,
        help: "Serve HTTPS directly with this PEM certificate chain (server certificate first). Default: $MZPANEL_TLS_CERT. Needs --tls-key.")
    var tlsCert: String?

    @Option(
        name: .long,
        help: "The certificate's private key (unencrypted PEM, readable by the hub's user only). Default: $MZPANEL_TLS_KEY.")
    var tlsKey: String?

    @Flag(
        name: .long,
        help:
            "Let notifications (webhooks, SMTP) reach loopback and private addresses (10/8, 172.16/12, 192.168/16, 127/8, ::1, fc00::/7). Link-local and cloud metadata addresses stay refused."
    )
    var allowPrivateWebhooks = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A reverse proxy (address or CIDR network) whose X-Forwarded-For names the client, for the login throttle and the audit log; repeatable. Default: $MZPANEL_TRUSTED_PROXIES (comma-separated), else none.",
            valueName: "CIDR"))
    var trustedProxy: [String] = []

    @Option(
        name: .long,
        help:
            "Directory with the agent builds served at /agent/ and by /install.sh (scripts/build-agent writes them to dist/). Default: DATA_DIR/agent."
    )
    var agentDir: String?

    func run() async throws {
        var configuration = HubConfiguration()
        let environment = ProcessInfo.processInfo.environment
        let listen = listen ?? environment["MZPANEL_LISTEN"].nonEmpty ?? "127.0.0.1:8780"
        let publicURL = publicURL ?? environment["MZPANEL_PUBLIC_URL"].nonEmpty
        let tls = try HubTLSFiles.resolve(certificate: tlsCert, key: tlsKey, environment: environment)
        let server = try tls?.serverBuilder() ?? .http1()
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (1...65535).contains(port) else {
            throw CLIError("--listen \(listen) is not HOST:PORT (e.g. 127.0.0.1:8780 or 0.0.0.0:443)")
        }
        configuration.host = String(listen[..<colon])
        configuration.port = port
        configuration.instanceName = ProcessInfo.processInfo.hostName + " " + listen
        configuration.publicURL = publicURL ?? (tls == nil ? nil : "https://\(listen)")
        configuration.secureCookies = tls != nil || (publicURL?.hasPrefix("https://") ?? false)
        configuration.allowPrivateWebhooks = allowPrivateWebhooks || environment["MZPANEL_ALLOW_PRIVATE_WEBHOOKS"] == "1"
        configuration.agentDirectory = agentDir ?? (state.resolvedDataDir + "/agent")
        do {
            configuration.trustedProxies = try TrustedProxies.parse(
                trustedProxy.isEmpty ? [environment["MZPANEL_TRUSTED_PROXIES"] ?? ""] : trustedProxy)
        } catch {
            throw CLIError("--trusted-proxy / MZPANEL_TRUSTED_PROXIES: \(error)")
        }
        if let text = environment["MZPANEL_MISSED_GRACE_SECONDS"] {
            guard let seconds = TimeInterval(text), seconds >= 0 else {
                throw CLIError("MZPANEL_MISSED_GRACE_SECONDS=\(text) is not a number of seconds")
            }
            configuration.missedGrace = seconds
        }
        if let text = environment["MZPANEL_SAFETY_POLL_SECONDS"] {
            guard let seconds = Int(text), (1...3600).contains(seconds) else {
                throw CLIError("MZPANEL_SAFETY_POLL_SECONDS=\(text) is not a whole number of seconds from 1 to 3600")
            }
            configuration.safetyPoll = .seconds(seconds)
        }
        if let text = environment["MZPANEL_SCHEDULER_DELAY_SECONDS"] {
            guard let seconds = Int(text), (1...3600).contains(seconds) else {
                throw CLIError("MZPANEL_SCHEDULER_DELAY_SECONDS=\(text) is not a whole number of seconds from 1 to 3600")
            }
            configuration.scheduler.triggerDelay = TimeInterval(seconds)
            // Look for due slots at least as often as the delay, so a slot fires soon after it.
            configuration.scheduler.interval = .seconds(min(20, max(1, seconds / 2)))
        }
        if let text = environment["MZPANEL_NOTIFY_INTERVAL_SECONDS"] {
            guard let seconds = TimeInterval(text), seconds >= 0.2 else {
                throw CLIError("MZPANEL_NOTIFY_INTERVAL_SECONDS=\(text) is not a number of seconds (at least 0.2)")
            }
            configuration.notifyInterval = seconds
        }
        var logger = Logger(label: "mzpanel.hub")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let store = try await state.openStore(logger: logger)
        let hub = HubServices(store: store, clock: SystemClock(), configuration: configuration)
        let app = try buildApplication(hub: hub, logger: logger, server: server)
        logger.info(
            "hub starting",
            metadata: [
                "hub.listen": "\(listen)", "hub.tls": "\(tls != nil)", "hub.database": "\(store.backend.dialect.rawValue)",
                "hub.trusted_proxies": "\(configuration.trustedProxies.networks.map(\.description).joined(separator: ","))",
            ])
        do {
            try await app.runService()
        } catch {
            await store.shutdown()
            throw CLIError("the hub stopped: \(error)")
        }
        await store.shutdown()
    }
}
