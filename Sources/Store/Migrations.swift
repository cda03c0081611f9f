import Foundation
import SQLKit

/// The hub's schema, as ordered steps. Each step runs once, in a transaction, and is recorded in
/// `schema_migrations`. The SQL is the common subset of SQLite and PostgreSQL: TEXT ids, BIGINT
/// millisecond timestamps, JSON documents in TEXT columns.
enum Migrations {
    static let steps: [(version: Int, statements: [String])] = [
        (
            1,
            [
                """
                CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL, plan TEXT NOT NULL, created_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE users (id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                  email TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, created_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE api_tokens (id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                  name TEXT NOT NULL, prefix TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL,
                  last_used_at BIGINT, revoked_at BIGINT)
                """,
                "CREATE INDEX api_tokens_account ON api_tokens (account_id, created_at)",
                """
                CREATE TABLE web_sessions (id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, token_hash TEXT NOT NULL UNIQUE,
                  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE servers (id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                  name TEXT NOT NULL, public_key TEXT, key_fingerprint TEXT, agent_version TEXT, enrolled_at BIGINT,
                  last_seen_at BIGINT, created_at BIGINT NOT NULL, UNIQUE (account_id, name))
                """,
                """
                CREATE TABLE enrollment_tokens (id TEXT PRIMARY KEY, account_id TEXT NOT NULL,
                  server_id TEXT NOT NULL REFERENCES servers(id) ON DELETE CASCADE, token_hash TEXT NOT NULL UNIQUE,
                  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT)
                """,
                "CREATE INDEX enrollment_tokens_server ON enrollment_tokens (server_id, created_at)",
                """
                CREATE TABLE destinations (id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                  name TEXT NOT NULL, kind TEXT NOT NULL, settings TEXT NOT NULL, created_at BIGINT NOT NULL,
                  updated_at BIGINT NOT NULL, UNIQUE (account_id, name))
                """,
                """
                CREATE TABLE envelopes (account_id TEXT NOT NULL,
                  destination_id TEXT NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
                  server_id TEXT NOT NULL REFERENCES servers(id) ON DELETE CASCADE, key_id TEXT NOT NULL,
                  version INTEGER NOT NULL, ciphertext TEXT NOT NULL, created_at BIGINT NOT NULL,
                  PRIMARY KEY (destination_id, server_id))
                """,
                "CREATE INDEX envelopes_server ON envelopes (server_id)",
                """
                CREATE TABLE jobs (id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                  server_id TEXT NOT NULL REFERENCES servers(id) ON DELETE CASCADE, name TEXT NOT NULL, kind TEXT NOT NULL,
                  sources TEXT NOT NULL, schedule_calendar TEXT NOT NULL, schedule_time_zone TEXT NOT NULL,
                  retention TEXT NOT NULL, enabled INTEGER NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
                  UNIQUE (server_id, name))
                """,
                "CREATE INDEX jobs_account ON jobs (account_id, created_at, id)",
                "CREATE INDEX jobs_account_name ON jobs (account_id, name)",
                """
                CREATE TABLE job_destinations (job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                  destination_id TEXT NOT NULL REFERENCES destinations(id), account_id TEXT NOT NULL,
                  position INTEGER NOT NULL, PRIMARY KEY (job_id, destination_id))
                """,
                "CREATE INDEX job_destinations_destination ON job_destinations (destination_id)",
                """
                CREATE TABLE runs (id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                  server_id TEXT NOT NULL, job_id TEXT NOT NULL, trigger TEXT NOT NULL, slot BIGINT, status TEXT NOT NULL,
                  created_at BIGINT NOT NULL, started_at BIGINT, finished_at BIGINT, bytes_added BIGINT NOT NULL,
                  bytes_processed BIGINT NOT NULL, files_new BIGINT NOT NULL, results TEXT NOT NULL, log_excerpt TEXT,
                  UNIQUE (job_id, slot))
                """,
                "CREATE INDEX runs_account ON runs (account_id, created_at, id)",
                "CREATE INDEX runs_server ON runs (account_id, server_id, created_at, id)",
                "CREATE INDEX runs_job ON runs (account_id, job_id, created_at, id)",
                "CREATE INDEX runs_status ON runs (account_id, status, created_at, id)",
                """
                CREATE TABLE run_destinations (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                  destination_id TEXT NOT NULL, account_id TEXT NOT NULL, created_at BIGINT NOT NULL,
                  PRIMARY KEY (run_id, destination_id))
                """,
                "CREATE INDEX run_destinations_destination ON run_destinations (account_id, destination_id, created_at, run_id)",
                """
                CREATE TABLE snapshots (id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                  server_id TEXT NOT NULL, job_id TEXT NOT NULL, run_id TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL,
                  bytes_total BIGINT NOT NULL)
                """,
                "CREATE INDEX snapshots_account ON snapshots (account_id, created_at, id)",
                "CREATE INDEX snapshots_server ON snapshots (account_id, server_id, created_at, id)",
                "CREATE INDEX snapshots_job ON snapshots (account_id, job_id, created_at, id)",
                """
                CREATE TABLE snapshot_copies (snapshot_id TEXT NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
                  destination_id TEXT NOT NULL, account_id TEXT NOT NULL, created_at BIGINT NOT NULL,
                  restic_ids TEXT NOT NULL, bytes_added BIGINT NOT NULL, bytes_total BIGINT NOT NULL,
                  PRIMARY KEY (snapshot_id, destination_id))
                """,
                "CREATE INDEX snapshot_copies_destination ON snapshot_copies (account_id, destination_id, created_at, snapshot_id)",
            ]
        ),
        (
            2,
            [
                "ALTER TABLE servers ADD COLUMN agent_credential_hash TEXT",
                "CREATE UNIQUE INDEX servers_agent_credential ON servers (agent_credential_hash)",
                "ALTER TABLE runs ADD COLUMN progress TEXT",
                "CREATE INDEX runs_job_status ON runs (job_id, status)",
                "CREATE INDEX snapshots_run ON snapshots (account_id, run_id)",
                """
                CREATE TABLE agent_events (server_id TEXT NOT NULL, id TEXT NOT NULL, received_at BIGINT NOT NULL, PRIMARY KEY (server_id, id))
                """,
                """
                CREATE TABLE agent_commands (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, server_id TEXT NOT NULL,
                  kind TEXT NOT NULL, job_id TEXT, run_id TEXT, slot BIGINT, created_at BIGINT NOT NULL, acked_at BIGINT)
                """,
                "CREATE INDEX servers_account ON servers (account_id, created_at, id)",
                "CREATE INDEX agent_commands_pending ON agent_commands (server_id, acked_at, created_at)",
                // The newest snapshot's size per job, kept on ingestion so the fleet summary is a sum over jobs.
                "ALTER TABLE jobs ADD COLUMN protected_bytes BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE jobs ADD COLUMN protected_at BIGINT",
            ]
        ),
        (
            3,
            [
                // Sealing (docs/sealing.md): the account vault, each destination's key record, and the
                // htpasswd line of a source server's peer login. All ciphertext or one-way hashes.
                "CREATE TABLE vaults (account_id TEXT PRIMARY KEY, document TEXT NOT NULL, updated_at BIGINT NOT NULL)",
                "ALTER TABLE destinations ADD COLUMN credential_key TEXT",
                "ALTER TABLE envelopes ADD COLUMN peer_login TEXT",
                // What each peer destination's storage server last reported (certificate, space).
                """
                CREATE TABLE peer_reports (destination_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, server_id TEXT NOT NULL,
                  report TEXT NOT NULL, reported_at BIGINT NOT NULL)
                """,
            ]
        ),
        (
            4,
            [
                """
                CREATE TABLE audit_events (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, at BIGINT NOT NULL, actor TEXT NOT NULL,
                  action TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL, resource_id TEXT)
                """,
                "CREATE INDEX audit_events_account ON audit_events (account_id, at, id)",
            ]
        ),
        (
            5,
            [
                // Notifications: channels, the alert state per (channel, job), and the delivery queue.
                """
                CREATE TABLE notification_channels (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
                  url TEXT NOT NULL, secret TEXT NOT NULL, rules TEXT NOT NULL, created_at BIGINT NOT NULL)
                """,
                "CREATE INDEX notification_channels_account ON notification_channels (account_id)",
                """
                CREATE TABLE alert_states (channel_id TEXT NOT NULL, job_id TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (channel_id, job_id))
                """,
                """
                CREATE TABLE notification_deliveries (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, channel_id TEXT NOT NULL, event TEXT NOT NULL,
                  body TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at BIGINT NOT NULL, delivered_at BIGINT, last_error TEXT, created_at BIGINT NOT NULL)
                """,
                "CREATE INDEX notification_deliveries_due ON notification_deliveries (delivered_at, next_attempt_at)",
                "CREATE INDEX notification_deliveries_account ON notification_deliveries (account_id, created_at, id)",
            ]
        ),
        (
            6,
            [
                // Each job's newest run in brief, kept as runs are recorded: fleet pages and alerts read
                // one row per job instead of searching the run history. And the job's stale threshold.
                "ALTER TABLE jobs ADD COLUMN last_run_id TEXT",
                "ALTER TABLE jobs ADD COLUMN last_run_status TEXT",
                "ALTER TABLE jobs ADD COLUMN last_run_slot BIGINT",
                "ALTER TABLE jobs ADD COLUMN last_run_created_at BIGINT",
                "ALTER TABLE jobs ADD COLUMN last_run_finished_at BIGINT",
                "ALTER TABLE jobs ADD COLUMN stale_after INTEGER",
                "ALTER TABLE jobs ADD COLUMN check_subsets INTEGER",
                "ALTER TABLE jobs ADD COLUMN ping_url TEXT",
                // Email channels: sender, recipients and SMTP login name (the password is the channel's secret).
                "ALTER TABLE notification_channels ADD COLUMN email TEXT",
                // Restores: a run's plan (what, from where, to where) and the order sent to the agent.
                "ALTER TABLE runs ADD COLUMN restore TEXT",
                "ALTER TABLE agent_commands ADD COLUMN payload TEXT",
                "ALTER TABLE envelopes ADD COLUMN recovery_login TEXT",
                // Browsing: each snapshot copy's tree, listed once by its server's agent, found by folder.
                """
                CREATE TABLE snapshot_listings (snapshot_id TEXT NOT NULL, destination_id TEXT NOT NULL, account_id TEXT NOT NULL, server_id TEXT NOT NULL,
                  status TEXT NOT NULL, entries BIGINT NOT NULL, requested_at BIGINT NOT NULL, completed_at BIGINT, error TEXT,
                  PRIMARY KEY (snapshot_id, destination_id))
                """,
                """
                CREATE TABLE snapshot_entries (snapshot_id TEXT NOT NULL, destination_id TEXT NOT NULL, parent TEXT NOT NULL, name TEXT NOT NULL,
                  type TEXT NOT NULL, size BIGINT NOT NULL, mode INTEGER NOT NULL, mtime BIGINT, restic_id TEXT,
                  PRIMARY KEY (snapshot_id, destination_id, parent, name))
                """,
                "CREATE INDEX runs_job_created ON runs (job_id, created_at, id)",
            ] + SQLHubStore.latestRunBackfill
        ),
        (
            7,
            [
                // API tokens get a scope and an optional expiry. Tokens made before scopes keep the
                // power they had: admin, no expiry, their names unchanged.
                "ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin'",
                "ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT",
            ]
        ),
        (
            8,
            [
                // The account's certificate of each server's key (docs/sealing.md), cleared when the key changes.
                "ALTER TABLE servers ADD COLUMN certificate TEXT"
            ]
        ),
        (
            9,
            [
                // Jobs and destinations as a person signed them with the account key (docs/sealing.md).
                "ALTER TABLE jobs ADD COLUMN manifest TEXT",
                "ALTER TABLE destinations ADD COLUMN manifest TEXT",
            ]
        ),
        (
            10,
            [
                // What each server's agent last found on its Docker engine (docs/stacks.md): one JSON document per server.
                """
                CREATE TABLE stack_reports (server_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, report TEXT NOT NULL,
                  reported_at BIGINT NOT NULL)
                """
            ]
        ),
        (
            11,
            [
                // A restore run's signature (docs/sealing.md, "Signed restore orders"): awaiting, or the signed manifest.
                "ALTER TABLE runs ADD COLUMN signature TEXT"
            ]
        ),
        (
            12,
            [
                // What each server's agent reported it can do (AgentCapability), comma-separated; '' for none.
                "ALTER TABLE servers ADD COLUMN capabilities TEXT NOT NULL DEFAULT ''",
                // The client's address of each audit entry (behind a trusted proxy, the forwarded one).
                "ALTER TABLE audit_events ADD COLUMN address TEXT",
            ]
        ),
        (
            13,
            [
                // What a stack job's snapshot holds (docs/stacks.md): project, volumes, services and dumps, as JSON.
                "ALTER TABLE snapshots ADD COLUMN stack TEXT"
            ]
        ),
        (
            14,
            [
                // Work one hub replica does at a time (the notifier): who holds it, and until when.
                "CREATE TABLE hub_leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL)"
            ]
        ),
        (
            15,
            [
                // A job's hooks (JobHooks as JSON: before/after/onFailure/finally commands, policy, timeout); NULL for none.
                "ALTER TABLE jobs ADD COLUMN hooks TEXT",
                // Retention per destination ([DestinationRetention] as JSON); NULL: the job's retention everywhere.
                "ALTER TABLE jobs ADD COLUMN destination_retention TEXT",
            ]
        ),
        (
            16,
            [
                // A job's scheduled restore drills (JobDrill as JSON; NULL: none).
                "ALTER TABLE jobs ADD COLUMN drill TEXT",
                // Its period in seconds (health reads it without the JSON), the newest drill run in
                // brief and when the newest passing drill ended (kept like last_run_*).
                "ALTER TABLE jobs ADD COLUMN drill_every BIGINT",
                "ALTER TABLE jobs ADD COLUMN last_drill_id TEXT",
                "ALTER TABLE jobs ADD COLUMN last_drill_status TEXT",
                "ALTER TABLE jobs ADD COLUMN last_drill_created_at BIGINT",
                "ALTER TABLE jobs ADD COLUMN last_drill_finished_at BIGINT",
                "ALTER TABLE jobs ADD COLUMN proven_at BIGINT",
                // When drills were turned on (a new setting gets one period before the job counts as unproven).
                "ALTER TABLE jobs ADD COLUMN drill_since BIGINT",
            ]
        ),
        (
            17,
            [
                // Teams (issue 19): each user is a member with a role; the person an account had is its owner.
                "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'owner'",
                // API tokens belong to a member (the account's first member for tokens made before members).
                "ALTER TABLE api_tokens ADD COLUMN user_id TEXT",
                """
                UPDATE api_tokens SET user_id = (SELECT u.id FROM users u WHERE u.account_id = api_tokens.account_id
                  ORDER BY u.created_at, u.id LIMIT 1)
                """,
                "CREATE INDEX api_tokens_user ON api_tokens (user_id)",
                "CREATE INDEX web_sessions_user ON web_sessions (user_id)",
                """
                CREATE TABLE invitations (id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                  email TEXT NOT NULL, role TEXT NOT NULL, invited_by TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
                  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, accepted_at BIGINT)
                """,
                "CREATE INDEX invitations_account ON invitations (account_id, created_at)",
                // Two-factor sign-in: the TOTP secret (base32; the hub must know it to check codes), one being set up,
                // the last step used (a code works once), the recovery codes' SHA-256 hashes (JSON), and the owner's policy.
                "ALTER TABLE users ADD COLUMN totp_secret TEXT",
                "ALTER TABLE users ADD COLUMN totp_pending TEXT",
                "ALTER TABLE users ADD COLUMN totp_last_step BIGINT",
                "ALTER TABLE users ADD COLUMN recovery_codes TEXT",
                "ALTER TABLE accounts ADD COLUMN require_two_factor INTEGER NOT NULL DEFAULT 0",
            ]
        ),
        (
            18,
            [
                // Downloads whose agent posts and browser request reach different hub replicas: the parts pass
                // through here (base64 in TEXT, at most a few per transfer), taken in order by the replica holding the browser.
                """
                CREATE TABLE download_transfers (id TEXT PRIMARY KEY, server_id TEXT NOT NULL, next_seq INTEGER NOT NULL DEFAULT 0,
                  created_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE download_parts (download_id TEXT NOT NULL REFERENCES download_transfers(id) ON DELETE CASCADE,
                  seq INTEGER NOT NULL, data TEXT NOT NULL, done INTEGER NOT NULL, error TEXT, PRIMARY KEY (download_id, seq))
                """,
                // Failed logins per key (account:EMAIL, address:IP), shared by every replica.
                """
                CREATE TABLE login_failures (throttle_key TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure BIGINT NOT NULL,
                  blocked_until BIGINT)
                """,
                "CREATE INDEX login_failures_last ON login_failures (last_failure)",
            ]
        ),
        (
            19,
            [
                // Single sign-on (OpenID Connect) per account: the provider's issuer, the hub's client id and secret
                // (the hub must send it to the provider; never returned by the API), the role people join with,
                // whether they may join, and the email domains that find the provider from the login page (JSON).
                """
                CREATE TABLE sso_providers (account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
                  issuer TEXT NOT NULL, client_id TEXT NOT NULL, client_secret TEXT, default_role TEXT NOT NULL,
                  allow_join INTEGER NOT NULL DEFAULT 0, domains TEXT NOT NULL, updated_at BIGINT NOT NULL)
                """
            ]
        ),
        (
            20,
            [
                // Short-lived tickets every replica must find (a single sign-on under way, keyed by the SHA-256 of
                // its state or ticket): a JSON payload, taken once.
                """
                CREATE TABLE hub_tickets (kind TEXT NOT NULL, ticket_key TEXT NOT NULL, payload TEXT NOT NULL,
                  created_at BIGINT NOT NULL, PRIMARY KEY (kind, ticket_key))
                """,
                "CREATE INDEX hub_tickets_created ON hub_tickets (created_at)",
            ]
        ),
        (
            21,
            [
                // Repository statistics (issue 18): one row per measurement of one server's repository at a
                // destination, reported with a backup's or prune's result (restic stats; docs/operations.md).
                """
                CREATE TABLE repository_stats (account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                  destination_id TEXT NOT NULL, server_id TEXT NOT NULL, run_id TEXT NOT NULL, measured_at BIGINT NOT NULL,
                  total_bytes BIGINT NOT NULL, stored_bytes BIGINT NOT NULL, snapshot_count BIGINT NOT NULL,
                  PRIMARY KEY (run_id, destination_id))
                """,
                "CREATE INDEX repository_stats_destination ON repository_stats (account_id, destination_id, measured_at)",
            ]
        ),
        (
            22,
            [
                // Backup windows and spread (signed with the job), concurrency caps (hub-side settings, not signed),
                // and the destination slots agents claim before touching a capped destination: a run holds a
                // slot or waits in line (requested_at, run_id); a row whose expiry passed (a crashed agent) is free.
                "ALTER TABLE jobs ADD COLUMN backup_window TEXT",
                "ALTER TABLE jobs ADD COLUMN spread_seconds BIGINT",
                "ALTER TABLE destinations ADD COLUMN max_concurrent_runs INTEGER",
                "ALTER TABLE servers ADD COLUMN max_concurrent_runs INTEGER",
                """
                CREATE TABLE destination_slots (destination_id TEXT NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
                  run_id TEXT NOT NULL, account_id TEXT NOT NULL, server_id TEXT NOT NULL, job_id TEXT NOT NULL,
                  holding INTEGER NOT NULL DEFAULT 0, requested_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
                  PRIMARY KEY (destination_id, run_id))
                """,
                "CREATE INDEX destination_slots_line ON destination_slots (destination_id, holding, requested_at, run_id)",
            ]
        ),
        (
            23,
            [
                // Per-member vault access (docs/sealing.md, "Member wrappings"): each member's key (public key and private
                // key boxed under their own passphrase, JSON), its fingerprint, and the vault key sealed to it once granted.
                // Removing the member deletes the row in the removal's transaction.
                """
                CREATE TABLE member_vault_keys (member_id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                  key_document TEXT NOT NULL, key_id TEXT NOT NULL, wrapping TEXT, updated_at BIGINT NOT NULL)
                """,
                "CREATE INDEX member_vault_keys_account ON member_vault_keys (account_id)",
            ]
        ),
    ]

    /// The PostgreSQL advisory lock hub replicas take while migrating ("mzpanel" in ASCII).
    static let advisoryLockKey: Int64 = 0x6d7a_7061_6e65_6c

    /// Applies the pending steps. Several hub replicas starting together on one PostgreSQL database
    /// migrate one after another under a session advisory lock (released with the connection if a
    /// replica dies): the first applies the steps, the others find them recorded.
    static func run(on backend: SQLBackend) async throws {
        try await backend.withDatabase { db in
            let postgres = db.dialect.name == "postgresql"
            if postgres { try await db.raw("SELECT pg_advisory_lock(\(bind: advisoryLockKey))").run() }
            do {
                try await migrate(db)
            } catch {
                if postgres { _ = try? await db.raw("SELECT pg_advisory_unlock(\(bind: advisoryLockKey))").run() }
                throw error
            }
            if postgres { try await db.raw("SELECT pg_advisory_unlock(\(bind: advisoryLockKey))").run() }
        }
    }

    /// Each pending step in its own transaction, on the one connection that holds the lock.
    private static func migrate(_ db: any SQLDatabase) async throws {
        try await db.raw("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)").run()
        for step in steps {
            try await db.raw("BEGIN").run()
            do {
                if try await db.raw("SELECT version FROM schema_migrations WHERE version = \(bind: step.version)").first() == nil {
                    for statement in step.statements { try await db.raw(SQLQueryString(statement)).run() }
                    let now = Int64(Date().timeIntervalSince1970 * 1000)
                    try await db.raw("INSERT INTO schema_migrations (version, applied_at) VALUES (\(bind: step.version), \(bind: now))").run()
                }
                try await db.raw("COMMIT").run()
            } catch {
                _ = try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }
}
