import BackupCore
import Foundation

/// Version of the agent ↔ hub messages. The hub answers 400 to an agent speaking a newer one.
public let linkProtocolVersion = 1

/// `POST /api/agent/v1/enroll`: an agent proves it holds a one-time token and registers its key.
public struct EnrollRequest: Codable, Sendable {
    public var token: String
    /// The server's X25519 public key, base64 (raw 32 bytes).
    public var publicKey: String
    public var keyFingerprint: String
    public var hostname: String
    public var agentVersion: String

    public init(token: String, publicKey: String, keyFingerprint: String, hostname: String, agentVersion: String) {
        self.token = token
        self.publicKey = publicKey
        self.keyFingerprint = keyFingerprint
        self.hostname = hostname
        self.agentVersion = agentVersion
    }
}

public struct EnrollResponse: Codable, Sendable {
    public var serverID: String
    public var serverName: String
    public var accountID: String
    /// The agent's credential for every later call (`Authorization: Agent <credential>`), shown once.
    public var credential: String
    /// The account's public signing key (base64 of 32 bytes) when the account has one; the agent
    /// pins it only when it matches the fingerprint given to `enroll --account-key`.
    public var accountKey: String?

    public init(serverID: String, serverName: String, accountID: String, credential: String, accountKey: String? = nil) {
        self.serverID = serverID
        self.serverName = serverName
        self.accountID = accountID
        self.credential = credential
        self.accountKey = accountKey
    }
}

/// A job as the agent needs it: the job, its destinations, and the envelopes sealed to this server.
public struct AgentJob: Codable, Sendable, Equatable {
    public var job: Job
    public var destinations: [Destination]
    public var envelopes: [SealedEnvelope]
    /// The TLS certificate (PEM) of each peer destination's storage server, to pin with `--cacert`.
    public var peerCertificates: [String: String]?
    /// For peer destinations with a quota: what this server stores there, as the storage server measured it.
    public var peerUsage: [String: PeerUsage]?

    public init(
        job: Job, destinations: [Destination], envelopes: [SealedEnvelope], peerCertificates: [String: String]? = nil,
        peerUsage: [String: PeerUsage]? = nil
    ) {
        self.job = job
        self.destinations = destinations
        self.envelopes = envelopes
        self.peerCertificates = peerCertificates
        self.peerUsage = peerUsage
    }
}

/// A source server's use of a peer destination against its quota.
public struct PeerUsage: Codable, Sendable, Equatable {
    public var usedBytes: Int64
    public var quotaBytes: Int64

    public init(usedBytes: Int64, quotaBytes: Int64) {
        self.usedBytes = usedBytes
        self.quotaBytes = quotaBytes
    }

    public var isOver: Bool { usedBytes >= quotaBytes }
}

/// A peer destination this server stores for other servers of the account: it serves the
/// destination with `rclone serve restic`, one login per source server.
public struct PeerStore: Codable, Sendable, Equatable {
    public var destination: Destination
    /// htpasswd lines (`<source server id>:{SHA}…`) of the source servers sealed to it.
    public var logins: [String]

    public init(destination: Destination, logins: [String]) {
        self.destination = destination
        self.logins = logins
    }
}

/// The storage server's report on one peer destination (`PUT /api/agent/v1/peer-stores/{destination}`).
public struct PeerReport: Codable, Sendable, Equatable {
    public var destinationID: String
    /// The server's self-signed certificate (PEM); sources pin it.
    public var certificate: String?
    /// Whether `rclone serve restic` is up and listening.
    public var listening: Bool
    public var freeBytes: Int64?
    /// Bytes stored per source server id.
    public var usedBytes: [String: Int64]
    /// Why it is not serving, in words.
    public var error: String?
    public var reportedAt: Date?

    public init(
        destinationID: String, certificate: String?, listening: Bool, freeBytes: Int64?, usedBytes: [String: Int64],
        error: String? = nil, reportedAt: Date? = nil
    ) {
        self.destinationID = destinationID
        self.certificate = certificate
        self.listening = listening
        self.freeBytes = freeBytes
        self.usedBytes = usedBytes
        self.error = error
        self.reportedAt = reportedAt
    }
}

/// `GET /api/agent/v1/jobs`: every job of this server (disabled ones included, so timers can be removed).
public struct AgentJobSet: Codable, Sendable, Equatable {
    public var serverID: String
    public var jobs: [AgentJob]
    /// Peer destinations stored on this server.
    public var peerStores: [PeerStore]?
    /// The account's public signing key (base64), for an agent that pinned none yet (trust on
    /// first use); an agent with a pinned key ignores it.
    public var accountKey: String?
    /// At most this many runs at once on this server (absent: no cap).
    public var maxConcurrentRuns: Int?

    public init(
        serverID: String, jobs: [AgentJob], peerStores: [PeerStore]? = nil, accountKey: String? = nil, maxConcurrentRuns: Int? = nil
    ) {
        self.maxConcurrentRuns = maxConcurrentRuns
        self.serverID = serverID
        self.jobs = jobs
        self.peerStores = peerStores
        self.accountKey = accountKey
    }
}

/// Something that happened on the box. Written to the agent's outbox first; the hub ingests each
/// event id once, so a resent event changes nothing.
public struct AgentEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case runStarted, runProgress, runFinished }

    public var id: String
    public var kind: Kind
    public var occurredAt: Date
    /// The run as the agent knows it at that moment (status, results, bytes, log excerpt).
    public var run: Run
    public var progress: RunProgress?
    /// Set on `runFinished` when at least one destination got a copy.
    public var snapshot: Snapshot?
    /// restic snapshots that the job's retention removed during this run, per destination, so the
    /// hub stops listing them.
    public var pruned: [PrunedCopies]?

    public init(
        id: String, kind: Kind, occurredAt: Date, run: Run, progress: RunProgress? = nil, snapshot: Snapshot? = nil, pruned: [PrunedCopies]? = nil
    ) {
        self.id = id
        self.kind = kind
        self.occurredAt = occurredAt
        self.run = run
        self.progress = progress
        self.snapshot = snapshot
        self.pruned = pruned
    }
}

extension AgentEvent {
    /// The event as the run lifecycle reads it.
    public var runEvent: RunEvent {
        let kind: RunEventKind =
            switch self.kind {
            case .runStarted: .started
            case .runProgress: .progress
            case .runFinished: .finished
            }
        return RunEvent(id: id, kind: kind, run: run, progress: progress, snapshot: snapshot, pruned: pruned ?? [])
    }
}

public struct EventBatch: Codable, Sendable {
    public var events: [AgentEvent]
    public init(events: [AgentEvent]) { self.events = events }
}

public struct EventAck: Codable, Sendable {
    /// Ids the hub has stored (or had already stored): the agent deletes them from its outbox.
    public var acknowledged: [String]
    public init(acknowledged: [String]) { self.acknowledged = acknowledged }
}

/// A request from the hub to the agent, delivered by long polling and acknowledged when taken.
public struct AgentCommand: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case runNow, syncJobs, cancelRun, restore, listSnapshot, download, discoverStacks, upgradeAgent
    }

    public var id: String
    public var kind: Kind
    public var jobID: String?
    public var runID: String?
    public var slot: Date?
    public var createdAt: Date
    /// `restore`: what to restore, and how to open the repository that holds it.
    public var restore: RestoreOrder?
    /// `listSnapshot`: which snapshot copy to list for browsing.
    public var listing: ListingOrder?
    /// `download`: a file or folder of a snapshot copy to stream to the hub for a browser.
    public var download: DownloadOrder?
    /// `upgradeAgent`: the builds the hub serves.
    public var upgrade: UpgradeOrder?
    /// `runNow` of a copy run: copy the job's snapshots between two of its destinations.
    public var copy: CopyPlan?

    public init(
        id: String, kind: Kind, jobID: String? = nil, runID: String? = nil, slot: Date? = nil, createdAt: Date,
        restore: RestoreOrder? = nil, listing: ListingOrder? = nil, download: DownloadOrder? = nil, upgrade: UpgradeOrder? = nil,
        copy: CopyPlan? = nil
    ) {
        self.copy = copy
        self.id = id
        self.kind = kind
        self.jobID = jobID
        self.runID = runID
        self.slot = slot
        self.createdAt = createdAt
        self.restore = restore
        self.listing = listing
        self.download = download
        self.upgrade = upgrade
    }
}

/// An upgrade for an agent: the SHA-256 of each build the hub serves at `/agent/mzpanel-agent-linux-ARCH`
/// (architecture → hex). The agent takes its own architecture's and refuses a download that differs.
public struct UpgradeOrder: Codable, Sendable, Equatable {
    public var builds: [String: String]
    public init(builds: [String: String]) { self.builds = builds }
}

/// A download for an agent: `restic dump` of one path (a file as is, a folder as tar or zip),
/// posted to the hub in parts that it relays to the waiting browser.
public struct DownloadOrder: Codable, Sendable, Equatable {
    public var downloadID: String
    public var listing: ListingOrder
    /// The restic snapshot holding the path, and the path.
    public var resticSnapshotID: String
    public var path: String
    /// `tar` or `zip` for a folder; nil for a single file.
    public var archive: String?

    public init(downloadID: String, listing: ListingOrder, resticSnapshotID: String, path: String, archive: String?) {
        self.downloadID = downloadID
        self.listing = listing
        self.resticSnapshotID = resticSnapshotID
        self.path = path
        self.archive = archive
    }
}

/// A snapshot copy for the agent to list (`restic ls`) and upload for browsing.
public struct ListingOrder: Codable, Sendable, Equatable {
    public var snapshotID: String
    public var sourceServerID: String
    public var destination: Destination
    public var resticSnapshotIDs: [String]
    public var envelope: SealedEnvelope?
    public var peerCertificate: String?

    public init(
        snapshotID: String, sourceServerID: String, destination: Destination, resticSnapshotIDs: [String], envelope: SealedEnvelope?,
        peerCertificate: String? = nil
    ) {
        self.snapshotID = snapshotID
        self.sourceServerID = sourceServerID
        self.destination = destination
        self.resticSnapshotIDs = resticSnapshotIDs
        self.envelope = envelope
        self.peerCertificate = peerCertificate
    }
}

/// One part of a snapshot listing, uploaded in order; the last says `done` (or `error`).
public struct ListingUpload: Codable, Sendable, Equatable {
    public var destinationID: String
    public var entries: [SnapshotEntry]
    public var done: Bool
    public var error: String?

    public init(destinationID: String, entries: [SnapshotEntry], done: Bool, error: String? = nil) {
        self.destinationID = destinationID
        self.entries = entries
        self.done = done
        self.error = error
    }
}

/// A restore for an agent: the run to report under (its `restore` plan says what), the
/// destination, and — offsite — the credential sealed to this server and a peer's certificate.
/// The repository may be another server's (`plan.sourceServerID`): a restore onto a new server.
public struct RestoreOrder: Codable, Sendable, Equatable {
    public var run: Run
    public var destination: Destination
    public var envelope: SealedEnvelope?
    public var peerCertificate: String?

    public init(run: Run, destination: Destination, envelope: SealedEnvelope?, peerCertificate: String? = nil) {
        self.run = run
        self.destination = destination
        self.envelope = envelope
        self.peerCertificate = peerCertificate
    }

    public var plan: RestorePlan? { run.restore }
}

public struct CommandList: Codable, Sendable {
    public var commands: [AgentCommand]
    public init(commands: [AgentCommand]) { self.commands = commands }
}

/// Restic tags and host the agent puts on every snapshot (DESIGN §4).
public enum SnapshotTags {
    public static func tags(jobID: String, runID: String, source: String) -> [String] {
        ["mzpanel", "job=\(jobID)", "run=\(runID)", "source=\(source)"]
    }
}

/// `POST /api/agent/v1/destination-slots`: a run asks for (or renews, or with `release` gives up)
/// its slot at a destination capped by `maxConcurrentRuns`.
public struct SlotRequest: Codable, Sendable, Equatable {
    public var destinationID: String
    public var jobID: String
    public var runID: String
    /// True: the run ended (or stops waiting); its slot or place in line is freed.
    public var release: Bool?

    public init(destinationID: String, jobID: String, runID: String, release: Bool? = nil) {
        self.destinationID = destinationID
        self.jobID = jobID
        self.runID = runID
        self.release = release
    }
}

/// The hub's answer: the slot is the run's (`granted`), or the run waits at `position` (1 = next).
/// Renew before `expiresAt`; an unrenewed slot is freed then.
public struct SlotAnswer: Codable, Sendable, Equatable {
    public var granted: Bool
    public var position: Int
    public var expiresAt: Date
    /// The destination's cap (nil: no cap any more: go ahead).
    public var limit: Int?

    public init(granted: Bool, position: Int, expiresAt: Date, limit: Int?) {
        self.granted = granted
        self.position = position
        self.expiresAt = expiresAt
        self.limit = limit
    }
}
