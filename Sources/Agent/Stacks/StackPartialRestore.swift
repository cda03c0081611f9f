import BackupCore
import Foundation
import ResticKit

/// Single-volume and single-database stack restores (docs/stacks.md): named volumes filled in
/// place (created with compose's labels when missing), database dumps loaded into the running
/// stack's database service, into its own database or another. Every target is checked first;
/// a dry run stops there and says what would be created or replaced.
extension StackRestore {
    func performParts(_ layout: Layout, project: String, options: Options, staging: String) async throws {
        // What the snapshot holds, and where each part goes.
        let unknownVolumes = options.volumes.filter { !layout.volumes.contains($0) }
        if !unknownVolumes.isEmpty {
            throw AgentError(
                "the snapshot of stack \(layout.original) holds no volume \(unknownVolumes.joined(separator: ", ")); it holds: \(layout.volumes.isEmpty ? "none" : layout.volumes.joined(separator: ", "))"
            )
        }
        for volume in options.volumes where layout.databaseVolumes.contains(volume) {
            let service = layout.dumps.keys.sorted().first ?? "SERVICE"
            throw AgentError(
                "volume \(volume) holds a dumped database: its files were copied live and are not restored; restore the database with --database \(service)"
            )
        }
        let unknownServices = options.databases.map(\.service).filter { layout.dumps[$0] == nil }
        if !unknownServices.isEmpty {
            throw AgentError(
                "the snapshot of stack \(layout.original) holds no database dump of service \(unknownServices.joined(separator: ", ")); dumped services: \(layout.dumps.isEmpty ? "none" : layout.dumps.keys.sorted().joined(separator: ", "))"
            )
        }

        var occupied: [String] = []
        var plannedVolumes: [(volume: String, name: String, exists: Bool)] = []
        for volume in options.volumes {
            let name = "\(project)_\(volume)"
            let mountpoint = try? volumeMountpoint(name)
            if let mountpoint, Self.isNonEmpty(mountpoint) { occupied.append("volume \(name)") }
            plannedVolumes.append((volume, name, mountpoint != nil))
        }
        var plannedDatabases: [(database: StackRestoreOptions.Database, container: String, target: String)] = []
        for database in options.databases {
            let container = try runningContainer(project: project, service: database.service)
            let path = layout.dumps[database.service]?.paths.first ?? ""
            let (target, tables) = try databaseTables(container: container, postgres: path.hasSuffix(".pgdump"), into: database.into)
            if tables > 0 { occupied.append("database \(target) of service \(database.service) (\(tables) tables)") }
            plannedDatabases.append((database, container, target))
        }

        if options.dryRun {
            for planned in plannedVolumes {
                log(
                    planned.exists
                        ? "dry run: volume \(planned.name) exists; its content would be replaced by the snapshot's"
                        : "dry run: volume \(planned.name) would be created with the compose labels of project \(project) and filled")
            }
            for planned in plannedDatabases {
                log("dry run: the dump of service \(planned.database.service) would be loaded into database \(planned.target)")
            }
            if !occupied.isEmpty && !options.overwrite {
                log("dry run: refused without --overwrite: \(occupied.joined(separator: ", ")) not empty")
            }
            log("dry run: nothing was changed")
            return
        }
        if !occupied.isEmpty && !options.overwrite {
            throw AgentError(
                "\(occupied.joined(separator: ", ")) \(occupied.count == 1 ? "is" : "are") not empty; restore with --overwrite to replace \(occupied.count == 1 ? "it" : "them"), or restore a database into another name (--database SERVICE=NEW_NAME)"
            )
        }

        if !plannedVolumes.isEmpty, let files = layout.files {
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
            let includes = options.volumes.compactMap { layout.volumePaths[$0] }
            log("restoring \(includes.count) volume\(includes.count == 1 ? "" : "s") of snapshot \(files.shortID) for staging")
            try await restic.restore(repository, snapshotID: files.id, target: staging, includes: includes)
            for planned in plannedVolumes {
                await step("volume \(planned.name)", 0.5)
                if !planned.exists { try createVolume(planned.name, project: project, volume: planned.volume) }
                let mountpoint = try volumeMountpoint(planned.name)
                // In place, so a volume still mounted by a (stopped or running) container is kept.
                for entry in (try? FileManager.default.contentsOfDirectory(atPath: mountpoint)) ?? [] {
                    try FileManager.default.removeItem(atPath: mountpoint + "/" + entry)
                }
                if let source = layout.volumePaths[planned.volume] { try Self.copyTree(from: staging + source, to: mountpoint) }
                log("volume \(planned.name) restored")
            }
        }
        for planned in plannedDatabases {
            guard let dump = layout.dumps[planned.database.service], let path = dump.paths.first else { continue }
            await step("loading the database of service \(planned.database.service) into \(planned.target)", 0.7)
            try await load(
                dump, path: path, service: planned.database.service, container: planned.container, into: planned.database.into,
                timeout: options.databaseTimeout)
            log("database \(planned.target) of service \(planned.database.service) restored")
        }
    }

    /// The running container of a service of a compose project.
    func runningContainer(project: String, service: String) throws -> String {
        let output = try docker.run([
            "ps", "-q", "--filter", "label=\(StackDiscovery.projectLabel)=\(project)", "--filter", "label=com.docker.compose.service=\(service)",
            "--filter", "status=running",
        ])
        guard let id = String(decoding: output, as: UTF8.self).split(separator: "\n").first.map(String.init), !id.isEmpty else {
            throw AgentError(
                "service \(service) of stack \(project) is not running here, so its database cannot be loaded; start it (docker-compose -p \(project) up -d \(service)) or restore the whole stack"
            )
        }
        return id
    }

    /// The database a dump would be loaded into (`into`, or the service's own) and how many tables it has (0: missing or empty).
    func databaseTables(container: String, postgres: Bool, into: String?) throws -> (String, Int) {
        let intoArguments = into.map { ["-e", "MZPANEL_INTO=\($0)"] } ?? []
        let script =
            postgres
            ? #"u="${POSTGRES_USER:-postgres}"; export PGPASSWORD="${POSTGRES_PASSWORD:-}"; d="${MZPANEL_INTO:-${POSTGRES_DB:-$u}}"; echo "$d"; "#
                + #"if [ "$(psql -U "$u" -d postgres -Atc "select count(*) from pg_database where datname = '$d'")" = 0 ]; then echo 0; else "#
                + #"psql -U "$u" -d "$d" -Atc "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r','p') and n.nspname not in ('pg_catalog','information_schema') and n.nspname not like 'pg_toast%'"; fi"#
            : #"MYSQL_PWD="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"; export MYSQL_PWD; c=$(command -v mariadb || command -v mysql); "#
                + #"d="${MZPANEL_INTO:-${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}}"; echo "${d:-*}"; "#
                + #"if [ -z "$d" ]; then "$c" -uroot -N -e "select count(*) from information_schema.tables where table_schema not in ('mysql','information_schema','performance_schema','sys')"; "#
                + #"else "$c" -uroot -N -e "select count(*) from information_schema.tables where table_schema = '$d'"; fi"#
        let output = String(decoding: try docker.run(["exec"] + intoArguments + [container, "sh", "-c", script]), as: UTF8.self)
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.count >= 2, let tables = Int(lines[1]) else {
            throw AgentError("could not read the databases of container \(container.prefix(12)): \(output.prefix(200))")
        }
        return (lines[0], tables)
    }
}
