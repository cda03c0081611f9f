import BackupCore
import Foundation
import Logging
import Store

/// Settings of the control plane. Every key has a default; none is secret.
public struct HubConfiguration: Sendable {
    /// Address to listen on (`--listen`, default 127.0.0.1:8780).
    public var host: String = "127.0.0.1"
    public var port: Int = 8780
    /// The URL agents and browsers use to reach the hub (default http://HOST:PORT).
    public var publicURL: String?
    /// How long a browser session lasts (default 12 hours).
    public var sessionLifetime: TimeInterval = 12 * 3600
    /// Mark cookies `Secure` (default: when the public URL is https).
    public var secureCookies: Bool = false
    /// bcrypt cost for passwords (default 12; tests lower it).
    public var bcryptCost: UInt8 = 12
    /// Run the scheduler that triggers due slots (default on; router-only tests turn it off).
    public var runScheduler: Bool = true

    public init() {}

    public var effectivePublicURL: String { publicURL ?? "http://\(host):\(port)" }
}

/// What every route handler needs: the store, the clock, the settings.
public struct HubServices: Sendable {
    public let store: any HubStore
    public let clock: any HubClock
    public let configuration: HubConfiguration

    public init(store: any HubStore, clock: any HubClock, configuration: HubConfiguration) {
        self.store = store
        self.clock = clock
        self.configuration = configuration
    }
}
