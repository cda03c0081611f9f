import ArgumentParser
import BackupCore
import Foundation
import HubAPI
import Sealing

/// `mzpanel restore SNAPSHOT …`: restore files and databases, on the snapshot's server or another.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore a snapshot's files and databases, in place or elsewhere, on its server or another.",
        discussion: """
            SNAPSHOT is the id that `mzpanel snapshots list` shows. Without --destination the first copy is used.
              mzpanel restore snp_… --target /srv/restore --wait                 files below /srv/restore
              mzpanel restore snp_… --include /var/www/site/uploads --overwrite   in place, over existing files
              mzpanel restore snp_… --database postgresql:shop=shop_copy --wait   a dump into a new database
              mzpanel restore snp_… --server new-web --destination offsite --wait onto another server (seal first)
            A Docker stack snapshot (docs/stacks.md), whole or in parts, on its server or another:
              mzpanel restore snp_… --stack --wait                                 project directory, volumes, databases, up
              mzpanel restore snp_… --stack --server web-2 --project-dir /srv/shop --wait
              mzpanel restore snp_… --stack --volume uploads --overwrite --wait    one volume, in place
              mzpanel restore snp_… --stack --database db=shop_copy --wait         one dump into a new database of the running stack
            Restoring over existing files that differ, into a non-empty database or volume, needs --overwrite;
            --dry-run shows what would change (in the run's log) and writes nothing.
            In an account with a vault, a restore that replaces data (--overwrite) or goes to another server
            is signed with the account key before the server carries it out: give --vault-passphrase-file,
            or sign it later with `mzpanel runs sign RUN` or on the run's page.
            """
    )
    @Argument(help: "The snapshot id.") var snapshot: String
    @Option(name: .long, help: "Which copy: a destination holding the snapshot (default: the first).") var destination: String?
    @Option(name: .long, help: "Restore onto this server (default: the snapshot's own).") var server: String?
    @Option(name: .long, help: "Restore below this directory; without it, files go back to their original paths.") var target: String?
    @Option(name: .long, help: "Restore only this path of the snapshot (repeatable).") var include: [String] = []
    @Option(
        name: .long,
        help:
            "A database dump to restore, ENGINE:NAME[=INTO][@CONNECTION] (repeatable), e.g. postgresql:shop=shop_copy; with --stack: SERVICE[=INTO], e.g. db=shop_copy."
    )
    var database: [String] = []
    @Flag(name: .long, help: "Restore a Docker stack snapshot: the whole stack, or the --volume and --database parts named.") var stack = false
    @Option(name: .long, help: "With --stack: restore as this compose project (default: the one backed up).") var project: String?
    @Option(name: .customLong("project-dir"), help: "With --stack: the project directory goes here (default: where it was).")
    var projectDir: String?
    @Option(name: .long, help: "With --stack: restore only this named volume (repeatable), e.g. uploads.") var volume: [String] = []
    @Flag(name: .long, help: "Restore the files too when --database is given (without --database, files are restored).") var files = false
    @Flag(name: .long, help: "Confirm replacing existing files that differ, or a non-empty database.") var overwrite = false
    @Flag(name: .customLong("dry-run"), help: "Only report what would be restored and replaced.") var dryRun = false
    @Flag(name: .long, help: "Wait for the restore to finish, showing progress.") var wait = false
    @Option(name: .long, help: "Give up waiting after this many seconds (the restore goes on).") var timeout: Int = 6 * 3600
    @OptionGroup var vault: VaultOptions
    @OptionGroup var options: ClientOptions

    /// `ENGINE:NAME[=INTO][@CONNECTION]`.
    static func parseDatabase(_ text: String) throws -> DatabaseRestore {
        var rest = text
        var connection: String?
        if let at = rest.lastIndex(of: "@"), !rest.hasPrefix("sqlite") {
            connection = String(rest[rest.index(after: at)...])
            rest = String(rest[..<at])
        }
        var into: String?
        if let equals = rest.firstIndex(of: "=") {
            into = String(rest[rest.index(after: equals)...])
            rest = String(rest[..<equals])
        }
        do {
            let source = try DatabaseSource.parse(rest)
            return DatabaseRestore(engine: source.engine, name: source.name, into: into, connection: connection)
        } catch {
            throw CLIError("--database \(text): \(error.message); use ENGINE:NAME[=INTO][@CONNECTION], e.g. postgresql:shop=shop_copy")
        }
    }

    func run() async throws {
        let body: RestoreRequest
        if stack {
            guard target == nil, include.isEmpty, !files else {
                throw CLIError("--stack restores the stack's project directory, volumes and databases; leave out --target, --include and --files")
            }
            let options = StackRestoreOptions(
                project: project, projectDirectory: projectDir, volumes: volume, databases: database.map(StackRestoreOptions.parseDatabase))
            body = RestoreRequest(
                snapshot: snapshot, destination: destination, server: server, target: nil, include: nil, files: nil, databases: nil,
                overwrite: overwrite, dryRun: dryRun, stack: options)
        } else {
            guard project == nil, projectDir == nil, volume.isEmpty else {
                throw CLIError("--project, --project-dir and --volume restore parts of a Docker stack; add --stack")
            }
            let databases = try database.map(Self.parseDatabase)
            body = RestoreRequest(
                snapshot: snapshot, destination: destination, server: server, target: target, include: include,
                files: databases.isEmpty ? nil : files, databases: databases, overwrite: overwrite, dryRun: dryRun)
        }
        let client = try options.client()
        var queued = try HubDecoding.decode(Run.self, try await client.raw("POST", "/api/v1/restores", body: body))
        if queued.signature?.state == .awaiting {
            let intent = RestoreSigner.Intent(request: body)
            guard let signer = try await VaultSession(client: client, options: vault).restoreSigner() else {
                let note =
                    "Restore run \(queued.id) waits for your signature (it replaces data or goes to another server): sign it with `mzpanel runs sign \(queued.id) --vault-passphrase-file FILE` or on the run's page."
                if wait { throw CLIError(note, exitCode: 1) }
                return options.json ? try Output.json(queued) : print(note)
            }
            queued = try await signer.sign(queued, intent: intent)
            if !options.json { print("Signed the \(RestoreSigner.describe(queued)) with the account key \(signer.vault.signingKey.fingerprint).") }
        }
        guard wait else {
            if options.json { return try Output.json(queued) }
            return print("Queued restore run \(queued.id) on \(queued.serverID). Follow it with: mzpanel runs show \(queued.id)")
        }
        let (detail, last) = try await RunFollower.follow(queued.id, client: client, timeout: timeout, json: options.json)
        let run = detail.run
        if options.json {
            Output.json(last)
        } else {
            print(
                "Restore \(run.id) \(run.status.rawValue): \(Output.bytes(run.bytesProcessed)) restored"
                    + (dryRun ? " (dry run: nothing written)" : "") + ".")
            if let error = run.results.first?.error { print("  " + error) }
            if dryRun, let log = run.logExcerpt { print(log) }
        }
        if run.status != .succeeded { throw CLIError("the restore ended \(run.status.rawValue)", exitCode: 1) }
    }
}
