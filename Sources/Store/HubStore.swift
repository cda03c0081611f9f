import BackupCore
import Foundation
import LinkProtocol

/// The hub's storage: one port per aggregate, one SQL implementation of all of them on SQLite
/// and PostgreSQL. Every method that reads or changes a tenant's resource takes the caller's
/// `accountID` and never crosses it. A unique key refusing a write surfaces as `StoreError.duplicate`.
public typealias HubStore = AccountStore & ServerStore & DestinationStore & JobStore & JobStatusStore & RunStore & SnapshotStore
    & AgentLinkStore & AuditStore & NotificationStore & LeaseStore & DownloadPartStore & LoginFailureStore & TicketStore & RepositoryStatsStore
    & DestinationSlotStore & StoreEngine

/// Which database engine holds the hub's data (the health route names it).
public protocol StoreEngine: Sendable {
    /// `sqlite` or `postgresql`.
    var engineName: String { get }
}

/// Accounts, users, API tokens and browser sessions.
public protocol AccountStore: Sendable {
    func createAccount(_ account: Account, user: User?) async throws
    func account(id: String) async throws -> Account?
    func setPlan(accountID: String, plan: Plan) async throws -> Bool
    func user(email: String) async throws -> User?
    func user(id: String) async throws -> User?
    func createAPIToken(_ token: APIToken, hash: String) async throws
    /// The live (not revoked) token with this hash.
    func apiToken(hash: String) async throws -> APIToken?
    func apiTokens(accountID: String) async throws -> [APIToken]
    func revokeAPIToken(accountID: String, id: String, at: Date) async throws -> Bool
    func touchAPIToken(id: String, at: Date) async throws
    func createSession(_ session: WebSession, hash: String) async throws
    /// The unexpired session with this hash.
    func session(hash: String, now: Date) async throws -> WebSession?
    func deleteSession(hash: String) async throws
    /// The account's members, oldest first.
    func members(accountID: String) async throws -> [User]
    /// Changes a member's role; nil when there is no such member. Throws a conflict when it would leave the account without an owner.
    func setMemberRole(accountID: String, userID: String, role: MemberRole) async throws -> User?
    /// Removes a member, ends their sessions and revokes their API tokens in one transaction; false when there is no such member.
    /// Throws a conflict when the member is the account's last owner.
    func removeMember(accountID: String, userID: String, at: Date) async throws -> Bool
    /// The account's browser sessions (unexpired) of one member, or of all members when `userID` is nil.
    func sessions(accountID: String, userID: String?, now: Date) async throws -> [WebSession]
    /// Ends one session of the account (of one member when `userID` is given); false when there is none.
    func deleteSession(accountID: String, id: String, userID: String?) async throws -> Bool
    func createInvitation(_ invitation: Invitation, hash: String) async throws
    /// The account's invitations not yet accepted, newest first.
    func invitations(accountID: String) async throws -> [Invitation]
    /// The unaccepted, unexpired invitation with this hash.
    func invitation(hash: String, now: Date) async throws -> Invitation?
    /// Accepts the invitation with this hash: creates `user` (with the invitation's account, email and role) once.
    /// Nil when the invitation is used, expired or unknown; a conflict when the email became a member meanwhile.
    func acceptInvitation(hash: String, user: User, now: Date) async throws -> User?
    func deleteInvitation(accountID: String, id: String) async throws -> Bool
    /// A member's two-factor settings.
    func twoFactor(userID: String) async throws -> TwoFactorState
    /// Keeps a secret being set up (nil: forget it) until the member confirms a code.
    func setPendingTwoFactor(userID: String, secret: String?) async throws
    /// Turns two-factor sign-in on with `secret`, the step of the confirming code and the recovery codes' hashes; nil secret turns it off.
    func setTwoFactor(userID: String, secret: String?, step: Int64?, recoveryHashes: [String]) async throws
    /// Records `step` as used when it is newer than the last one used; false when it is not (a code works once).
    func useTwoFactorStep(userID: String, step: Int64) async throws -> Bool
    /// Removes one recovery code's hash; false when the member has no such code.
    func useRecoveryCode(userID: String, hash: String) async throws -> Bool
    func twoFactorRequired(accountID: String) async throws -> Bool
    func setTwoFactorRequired(accountID: String, required: Bool) async throws
    /// The account's single sign-on settings (with the client secret), if an owner set them.
    func ssoSettings(accountID: String) async throws -> SSOSettings?
    /// The settings of the account that claims this email domain, if any.
    func ssoSettings(domain: String) async throws -> SSOSettings?
    /// Creates or replaces the account's single sign-on settings; a conflict when another account claims one of its domains.
    func putSSOSettings(_ settings: SSOSettings) async throws
    func deleteSSOSettings(accountID: String) async throws -> Bool
    /// Adds a member (someone who joined through single sign-on); a conflict when the email is a member already.
    func addMember(_ user: User) async throws
}

/// Servers and their enrollment tokens.
public protocol ServerStore: Sendable {
    func createServer(_ server: Server) async throws
    /// The server with this id or name.
    func server(accountID: String, reference: String) async throws -> Server?
    func servers(accountID: String) async throws -> [Server]
    /// One page of servers, newest first.
    func servers(accountID: String, after: Cursor?, limit: Int) async throws -> Page<Server>
    /// The account's servers among these ids.
    func servers(accountID: String, ids: [String]) async throws -> [Server]
    func updateServer(_ server: Server) async throws
    /// Deletes the server, its jobs, envelopes and enrollment tokens; returns the destinations
    /// it held envelopes for (their provider keys were readable on that server), or nil.
    func deleteServer(accountID: String, id: String) async throws -> [Destination]?
    func certifyServer(accountID: String, id: String, publicKey: String, certificate: String?) async throws -> Bool
    func destinationsSealed(accountID: String, serverID: String) async throws -> [Destination]
    func createEnrollmentToken(_ token: EnrollmentToken, hash: String) async throws
    func enrollmentTokens(accountID: String, serverID: String) async throws -> [EnrollmentToken]
    func deleteEnrollmentToken(accountID: String, id: String) async throws -> Bool
    /// Marks the token used if it is unused and unexpired (atomic: a token enrolls once).
    func consumeEnrollmentToken(hash: String, now: Date) async throws -> EnrollmentToken?
    /// Replaces what the server's agent last found on its Docker engine.
    func putStackReport(_ report: StackReport, accountID: String, serverID: String, now: Date) async throws
    /// The server's latest Docker stack report, if its agent sent one.
    func stackReport(accountID: String, serverID: String) async throws -> StackReport?
}

/// Destinations, sealed envelopes, the account vault and peer reports.
public protocol DestinationStore: Sendable {
    func createDestination(_ destination: Destination) async throws
    func destination(accountID: String, reference: String) async throws -> Destination?
    func destinations(accountID: String) async throws -> [Destination]
    func updateDestination(_ destination: Destination) async throws
    /// Stores a signed manifest unless the destination changed after `unchangedSince` (false then).
    func setDestinationManifest(accountID: String, id: String, manifest: SignedManifest, unchangedSince: Date) async throws -> Bool
    func deleteDestination(accountID: String, id: String) async throws -> Bool
    /// Ids and names of the jobs that write to a destination.
    func jobsUsing(accountID: String, destinationID: String) async throws -> [(id: String, name: String)]
    func putEnvelope(_ envelope: SealedEnvelope) async throws
    func envelopes(accountID: String, destinationID: String) async throws -> [SealedEnvelope]
    func envelopes(accountID: String, serverID: String) async throws -> [SealedEnvelope]
    /// Every envelope of the account (the destinations page shows who can open what in one query).
    func envelopes(accountID: String) async throws -> [SealedEnvelope]
    func deleteEnvelope(accountID: String, destinationID: String, serverID: String) async throws -> Bool
    /// The account's vault document (docs/sealing.md), if one was created.
    func vault(accountID: String) async throws -> VaultDocument?
    /// Creates the vault (`replacing: false`; a second one is a conflict) or replaces it (`true`).
    func putVault(accountID: String, document: VaultDocument, replacing: Bool, now: Date) async throws
    /// Every member key of the account with its wrapping, if granted (docs/sealing.md, "Member wrappings").
    func memberVaultRecords(accountID: String) async throws -> [MemberVaultRecord]
    func memberVaultRecord(accountID: String, memberID: String) async throws -> MemberVaultRecord?
    /// Sets a member's key; a new key (another `keyID`) drops the wrapping sealed to the old one. False when the
    /// member is not the account's.
    func putMemberVaultKey(accountID: String, memberID: String, key: String, keyID: String, now: Date) async throws -> Bool
    /// Sets (or with nil removes) the wrapping of the member's key `keyID`; false when the member has no key or
    /// another one (replaced meanwhile).
    func setMemberVaultWrapping(accountID: String, memberID: String, keyID: String, wrapping: String?, now: Date) async throws -> Bool
    /// Stores a storage server's report on a peer destination it stores.
    func putPeerReport(_ report: PeerReport, accountID: String, serverID: String, now: Date) async throws
    /// The latest reports on the account's peer destinations, by destination id.
    func peerReports(accountID: String) async throws -> [String: PeerReport]
}

/// Jobs.
public protocol JobStore: Sendable {
    func createJob(_ job: Job) async throws
    func job(accountID: String, id: String) async throws -> Job?
    /// Jobs whose id or name is `reference`, optionally on one server.
    func jobs(accountID: String, reference: String, serverID: String?) async throws -> [Job]
    func jobs(accountID: String, serverID: String?, destinationID: String?) async throws -> [Job]
    /// One page of jobs, newest first.
    func jobs(accountID: String, serverID: String?, destinationID: String?, after: Cursor?, limit: Int) async throws -> Page<Job>
    func updateJob(_ job: Job) async throws
    /// Stores a signed manifest unless the job changed after `unchangedSince` (false then).
    func setJobManifest(accountID: String, id: String, manifest: SignedManifest, unchangedSince: Date) async throws -> Bool
    func deleteJob(accountID: String, id: String) async throws -> Bool
}

/// Runs.
public protocol RunStore: Sendable {
    /// Stores a run; a second run for the same (job, slot) is refused with `DomainError.conflict`.
    func insertRun(_ run: Run) async throws
    /// Queues a run and its agent command in one transaction; refused with `DomainError.conflict` while the job has a queued or running run.
    func queueRun(_ run: Run, command: AgentCommand) async throws
    func updateRun(_ run: Run) async throws
    /// Stores a restore run's signed manifest and queues its order at once, while the run awaits it.
    func approveRestore(_ run: Run, manifest: SignedManifest, command: AgentCommand) async throws -> Bool
    func run(accountID: String, id: String) async throws -> Run?
    func runs(accountID: String, filter: RunFilter, after: Cursor?, limit: Int) async throws -> Page<Run>
}

/// Snapshots, their listings for browsing, and the fleet's totals.
public protocol SnapshotStore: Sendable {
    func insertSnapshot(_ snapshot: Snapshot) async throws
    func snapshot(accountID: String, id: String) async throws -> Snapshot?
    func snapshots(accountID: String, filter: SnapshotFilter, after: Cursor?, limit: Int) async throws -> Page<Snapshot>

    func fleetSummary(accountID: String, now: Date) async throws -> FleetSummary
    // Browsing snapshots
    func listing(accountID: String, snapshotID: String, destinationID: String) async throws -> SnapshotListing?
    func startListing(accountID: String, snapshotID: String, destinationID: String, serverID: String, now: Date) async throws
    func appendListing(serverID: String, snapshotID: String, destinationID: String, entries: [SnapshotEntry], done: Bool, error: String?, now: Date)
        async throws -> Bool
    func snapshotEntries(accountID: String, snapshotID: String, destinationID: String, parent: String, after: String?, limit: Int) async throws
        -> [SnapshotEntry]
    func snapshotEntry(accountID: String, snapshotID: String, destinationID: String, path: String) async throws -> SnapshotEntry?
    /// The snapshot a run produced, if any.
    func snapshot(accountID: String, runID: String) async throws -> Snapshot?
}

/// What agents do through the link: enroll, report runs, receive commands.
extension AgentLinkStore {
    /// Records that the agent called.
    public func touchServer(id: String, at: Date) async throws { try await touchServer(id: id, at: at, agentVersion: nil) }
}

public protocol AgentLinkStore: Sendable {
    /// Rung when a command for a server is committed; agents' long-polls wait on it.
    var commandBell: CommandBell { get }
    /// Rung when an agent's event changed a run; live progress streams wait on it.
    var runBell: CommandBell { get }
    /// Rung with a server id when its agent credential changed or went (enrolment, removal), here or
    /// on another replica: a cache of credentials forgets that server.
    var credentialBell: CommandBell { get }
    /// Consumes an enrollment token and binds the agent's key and credential to its server.
    func enroll(tokenHash: String, publicKey: String, keyFingerprint: String, agentVersion: String, credentialHash: String, now: Date) async throws
        -> Server?
    /// The server whose agent holds this credential.
    func server(agentCredentialHash: String) async throws -> Server?
    /// Records that the agent called, and the version it reports (`User-Agent`) when given.
    func touchServer(id: String, at: Date, agentVersion: String?) async throws
    /// The same, also recording the capabilities the agent reports when they changed (nil: unchanged).
    func touchServer(id: String, at: Date, agentVersion: String?, capabilities: [String]?) async throws
    /// Applies an agent's run event once (per server and event id) as `RunLifecycle` decides; nil when it was applied before.
    func ingest(_ event: RunEvent, accountID: String, serverID: String, now: Date) async throws -> RunDecision?
    func enqueueCommand(_ command: AgentCommand, accountID: String, serverID: String) async throws
    func pendingCommands(serverID: String) async throws -> [AgentCommand]
    func ackCommand(serverID: String, id: String, at: Date) async throws -> Bool
}

/// The audit log.
/// Repository statistics over time, per destination (one point per measurement of one server's repository).
public protocol RepositoryStatsStore: Sendable {
    /// Records one measurement; the same run and destination twice is `StoreError.duplicate`.
    func recordRepositoryStats(_ point: RepositoryStatsPoint, accountID: String, destinationID: String) async throws
    /// The measurements since `since`, oldest first (the newest `limit`).
    func repositoryStats(accountID: String, destinationID: String, since: Date, limit: Int) async throws -> [RepositoryStatsPoint]
}

public protocol AuditStore: Sendable {
    func insertAudit(_ event: AuditEvent) async throws
    /// One page of audit entries, newest first.
    func audits(accountID: String, filter: AuditFilter, after: Cursor?, limit: Int) async throws -> Page<AuditEvent>
}

/// Notification channels, alert state and the delivery queue.
public protocol NotificationStore: Sendable {
    func createChannel(_ channel: NotificationChannel, secret: String) async throws
    func channels(accountID: String) async throws -> [NotificationChannel]
    func updateChannel(_ channel: NotificationChannel, secret: String?) async throws
    /// Channels with their signing secrets, of one account or (nil) of all.
    func signingChannels(accountID: String?) async throws -> [SigningChannel]
    func deleteChannel(accountID: String, reference: String) async throws -> Bool
    func alertStates(channelID: String) async throws -> [String: AlertState]
    func putAlertState(channelID: String, jobID: String, state: AlertState?, delivery: NotificationDelivery?) async throws
    func enqueueDelivery(_ delivery: NotificationDelivery) async throws
    func dueDeliveries(now: Date, limit: Int) async throws -> [NotificationDelivery]
    func updateDelivery(_ delivery: NotificationDelivery) async throws
    func deliveries(accountID: String, limit: Int) async throws -> [NotificationDelivery]
}

/// Work that one hub replica does at a time (the notifier's passes): a named lease in the
/// database, held until it expires unless its holder renews it.
public protocol LeaseStore: Sendable {
    /// Takes or renews `name` for `holder` until `until`: true when `holder` has it now (it was
    /// free, expired at `now`, or already its own).
    func acquireLease(_ name: String, holder: String, until: Date, now: Date) async throws -> Bool
    /// Gives `name` up if `holder` has it (a replica shutting down), so another takes it at once.
    func releaseLease(_ name: String, holder: String) async throws
}

/// A part of a download on its way from an agent's post to the replica holding the browser.
public struct DownloadPart: Sendable, Equatable {
    public var sequence: Int
    public var data: Data
    public var done: Bool
    public var error: String?

    public init(sequence: Int, data: Data, done: Bool, error: String?) {
        self.sequence = sequence
        self.data = data
        self.done = done
        self.error = error
    }
}

/// What became of a part an agent posted.
public enum DownloadPartOutcome: Sendable, Equatable {
    case queued
    /// As many parts wait as the transfer allows: try again once one is taken.
    case full
    /// No such transfer waits for that server (finished, or the browser left).
    case gone
    /// The part is not the next one; `expected` is.
    case outOfOrder(expected: Int)
}

/// Downloads across hub replicas: the agent's posts may reach a replica other than the one holding
/// the browser's request, so the parts pass through the database, a few at a time, in order.
public protocol DownloadPartStore: Sendable {
    /// Rung with `p:<download>` when a part was queued and `t:<download>` when parts were taken or
    /// the transfer ended (this replica's changes, and other replicas' through LISTEN/NOTIFY).
    var downloadBell: CommandBell { get }
    func openDownloadTransfer(id: String, serverID: String, now: Date) async throws
    /// Queues the next part unless `maxWaiting` parts wait already.
    func pushDownloadPart(_ part: DownloadPart, downloadID: String, serverID: String, maxWaiting: Int) async throws -> DownloadPartOutcome
    /// Takes (removes) up to `limit` waiting parts, in order.
    func takeDownloadParts(downloadID: String, limit: Int) async throws -> [DownloadPart]
    /// Ends the transfer: its waiting parts are dropped and further posts are refused.
    func closeDownloadTransfer(id: String) async throws
}

/// Failed logins per key, shared by every replica (the login throttle's state).
public struct LoginFailureRecord: Sendable, Equatable {
    public var failures: Int
    public var lastFailure: Date
    public var blockedUntil: Date?

    public init(failures: Int, lastFailure: Date, blockedUntil: Date?) {
        self.failures = failures
        self.lastFailure = lastFailure
        self.blockedUntil = blockedUntil
    }
}

/// Short-lived tickets any replica may be asked for (single sign-ons under way): a payload under a
/// kind and a key (a hash of the secret the browser holds), kept until taken or too old.
public protocol TicketStore: Sendable {
    /// Keeps a ticket; tickets older than `dropBefore` go at the same time.
    func putTicket(kind: String, key: String, payload: String, createdAt: Date, dropBefore: Date) async throws
    /// The ticket's payload if it was made at `notBefore` or later; `take` removes it (once: a second take finds nothing).
    func ticket(kind: String, key: String, notBefore: Date, take: Bool) async throws -> String?
    func deleteTicket(kind: String, key: String) async throws
}

public protocol LoginFailureStore: Sendable {
    func loginFailures(keys: [String]) async throws -> [String: LoginFailureRecord]
    /// Reads the records of `keys`, lets `change` compute their new values and writes them, in one
    /// transaction with the rows locked (two replicas counting one key's failures lose none).
    func updateLoginFailures(
        keys: [String], _ change: @Sendable ([String: LoginFailureRecord]) -> [String: LoginFailureRecord]) async throws
    func clearLoginFailures(key: String) async throws
    /// Drops records whose last failure is older than `before`.
    func forgetLoginFailures(before: Date) async throws
}

/// Concurrency caps per destination across all servers of an account: a run claims a slot before
/// it touches the destination and renews it while it runs; a slot whose expiry passed (its agent
/// crashed or lost the hub) is free again. Runs over the cap wait in line, first come first served.
public protocol DestinationSlotStore: Sendable {
    /// Joins the line (or renews a place or a held slot) for `until`; grants the slot when fewer
    /// than `limit` runs hold one and no run asked earlier is still waiting.
    func claimDestinationSlot(_ claim: DestinationSlotClaim, limit: Int, until: Date, now: Date) async throws -> DestinationSlotGrant
    /// Leaves the line or frees the slot (a run that ended).
    func releaseDestinationSlot(accountID: String, destinationID: String, runID: String) async throws
    /// Runs holding or waiting for the destination's slots now, holders first, then the line in order.
    func destinationSlots(accountID: String, destinationID: String, now: Date) async throws -> [DestinationSlotGrant]
}

/// Scheduling and health reads.
public protocol JobStatusStore: Sendable {
    /// The newest run of each of these jobs.
    func lastRuns(accountID: String, jobIDs: [String]) async throws -> [String: Run]
    /// Each job's status (newest run in brief, newest snapshot, stale threshold), by name; all jobs or these.
    func jobStatuses(accountID: String, jobIDs: [String]?) async throws -> [JobStatus]
    /// The statuses of these servers' jobs only (a page of servers reads its own jobs, not the fleet's).
    func jobStatuses(accountID: String, serverIDs: [String]) async throws -> [JobStatus]
    func jobs(accountID: String, ids: [String]) async throws -> [Job]
    func unfinishedRunCounts(accountID: String) async throws -> [RunStatus: Int]
    func jobIDs(accountID: String, destinationID: String) async throws -> Set<String>
    /// Enabled jobs on enrolled servers, across all accounts (for the hub's scheduler).
    func schedulableJobs() async throws -> [Job]
    /// Whether the job already has a run for this slot.
    func hasRun(jobID: String, slot: Date) async throws -> Bool
}
