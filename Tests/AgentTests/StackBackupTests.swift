import BackupCore
import Foundation
import LinkProtocol
import ResticKit
import Testing

@testable import Agent

@Suite("Stack plans")
struct StackPlanTests {
    static func stack(dbState: String = "running") -> DockerStack {
        DockerStack(
            project: "shop", directory: "/srv/shop", configFiles: ["/srv/shop/docker-compose.yml"],
            services: [
                StackService(
                    name: "app", image: "shop/app", state: "running", containers: ["c-app"], database: nil, stopForBackup: false,
                    dumpDisabled: false, volumes: ["uploads", "cache"]),
                StackService(
                    name: "cache", image: "redis:7", state: "running", containers: ["c-redis"], database: .redis, stopForBackup: false,
                    dumpDisabled: false, volumes: []),
                StackService(
                    name: "db", image: "postgres:16", state: dbState, containers: ["c-db"], database: .postgresql, stopForBackup: false,
                    dumpDisabled: false, volumes: ["pgdata"]),
                StackService(
                    name: "worker", image: "shop/app", state: "exited", containers: ["c-worker"], database: nil, stopForBackup: true,
                    dumpDisabled: false, volumes: []),
            ],
            volumes: [
                StackVolume(name: "cache", engineName: "shop_cache", mountpoint: "/v/shop_cache", sizeBytes: nil, excluded: true),
                StackVolume(name: "pgdata", engineName: "shop_pgdata", mountpoint: "/v/shop_pgdata", sizeBytes: nil, excluded: false),
                StackVolume(name: "uploads", engineName: "shop_uploads", mountpoint: "/v/shop_uploads", sizeBytes: nil, excluded: false),
            ],
            bindMounts: [])
    }

    @Test func aFullPlanTakesTheDirectoryVolumesAndDumpsAndStopsOnlyRunningServices() throws {
        let plan = try StackPlan.make(StackSource(project: "shop", stop: ["app"], excludeVolumes: ["pgdata"]), stack: Self.stack(), kind: .full)
        #expect(plan.paths == ["/srv/shop", "/v/shop_uploads"])
        #expect(plan.volumes == ["uploads"])
        #expect(plan.dumps.map(\.service) == ["db"])
        #expect(plan.dumps.first?.filename == "stack-db.pgdump")
        #expect(plan.dumps.first?.script.contains("pg_dump -Fc") == true)
        #expect(plan.stop.map(\.container) == ["c-app"], "the worker is labelled but not running: it stays stopped")
        #expect(plan.notes.contains("service cache: redis is not dumped (its volume is copied)"))
    }

    @Test func bindMountsOutsideTheProjectAreTakenOnlyWhenIncludedAndKnown() throws {
        var stack = Self.stack()
        stack.bindMounts = [
            StackBindMount(service: "app", source: "/srv/shared", destination: "/shared", insideProject: false),
            StackBindMount(service: "app", source: "/srv/shop/config", destination: "/etc/app", insideProject: true),
        ]
        #expect(
            try StackPlan.make(StackSource(project: "shop"), stack: stack, kind: .full).paths == ["/srv/shop", "/v/shop_pgdata", "/v/shop_uploads"])
        let plan = try StackPlan.make(StackSource(project: "shop", includeBinds: ["/srv/shared", "/srv/shop/config"]), stack: stack, kind: .full)
        #expect(plan.paths.last == "/srv/shared" && plan.binds == ["/srv/shared"] && plan.contents.bindMounts == ["/srv/shared"])
        #expect(plan.notes.contains { $0.contains("/srv/shop/config is inside the project directory") })
        #expect(try StackPlan.make(StackSource(project: "shop", includeBinds: ["/srv/shared"]), stack: stack, kind: .database).paths.isEmpty)
        #expect {
            try StackPlan.make(StackSource(project: "shop", includeBinds: ["/srv/other"]), stack: stack, kind: .full)
        } throws: { error in
            "\(error)".contains("no bind mount from /srv/other") && "\(error)".contains("/srv/shared")
        }
        // Without binds a stack source encodes as before (signed job documents stay the same).
        let plain = String(decoding: try JSONEncoder().encode(StackSource(project: "shop")), as: UTF8.self)
        #expect(!plain.contains("includeBinds"))
        #expect(throws: DomainError.self) {
            try JobSources(stack: StackSource(project: "shop", includeBinds: ["srv/shared"])).validated(for: .full)
        }
    }

    @Test func aDatabasePlanOnlyDumps() throws {
        let plan = try StackPlan.make(StackSource(project: "shop", stop: ["app"]), stack: Self.stack(), kind: .database)
        #expect(plan.paths.isEmpty && plan.stop.isEmpty)
        #expect(plan.dumps.map(\.service) == ["db"])
    }

    @Test func aDatabaseServiceThatIsDownFailsThePlanNamingIt() {
        #expect {
            try StackPlan.make(StackSource(project: "shop"), stack: Self.stack(dbState: "exited"), kind: .full)
        } throws: { error in
            "\(error)".contains("database service db of stack shop is exited")
        }
        #expect(throws: AgentError.self) { try StackPlan.make(StackSource(project: "shop", stop: ["nope"]), stack: Self.stack(), kind: .full) }
    }

    @Test func theJobRulesAcceptAStackAsTheOnlySource() throws {
        let full = try JobSources(stack: StackSource(project: " shop ", stop: ["app", "app"])).validated(for: .full)
        #expect(full.stack == StackSource(project: "shop", stop: ["app"]))
        _ = try JobSources(stack: StackSource(project: "shop")).validated(for: .database)
        #expect(throws: DomainError.self) { try JobSources(stack: StackSource(project: "Shop!")).validated(for: .full) }
        #expect(throws: DomainError.self) { try JobSources(stack: StackSource(project: "shop")).validated(for: .check) }
        #expect(throws: DomainError.self) { try JobSources(stack: StackSource(project: "shop", stop: ["a b"])).validated(for: .full) }
        // A job without a stack encodes exactly as before (signed job documents stay the same).
        let plain = String(decoding: try JSONEncoder().encode(JobSources(paths: ["/srv"])), as: UTF8.self)
        #expect(!plain.contains("stack"))
    }
}

@Suite(
    "Stack backups (real engine, containers and restic)", .serialized,
    .enabled(if: DockerTestEngine.enabled && ResticPresence.usable, "no Docker test engine (scripts/docker-test-env) or no restic"))
struct StackBackupTests {
    static func job(_ stack: DockerTestStack, id: String, destination: Destination, stop: [String] = [], includeBinds: [String] = []) throws
        -> AgentJob
    {
        var job = try Fixtures.job(id: id, destinationIDs: [destination.id])
        job.sources = JobSources(stack: StackSource(project: stack.project, stop: stop, includeBinds: includeBinds))
        return AgentJob(job: job, destinations: [destination], envelopes: [])
    }

    @Test("a stack run takes the databases from inside their containers and the volumes with the app stopped, then starts it again")
    func backsUpAStack() async throws {
        let stack = try DockerTestStack.make()
        defer { stack.remove() }
        try stack.up()
        let db = try stack.container("db")
        let maria = try stack.container("maria")
        let app = try stack.container("app")
        try DockerTestEngine.shell(
            "docker exec \(db) psql -U shop -d shop -qc \"create table orders as select g as id, md5(g::text) as note from generate_series(1, 50000) g\""
        )
        try DockerTestEngine.shell(
            "docker exec \(maria) mariadb blog -e \"create table posts (id int primary key, title text); insert into posts select seq, concat('post ', seq) from seq_1_to_500\""
        )
        try DockerTestEngine.shell(
            "docker exec \(app) sh -c 'mkdir -p /srv/app/a && echo hello > /srv/app/a/hello.txt && head -c 200000 /dev/urandom > /srv/app/blob'")
        let pgChecksum = try DockerTestEngine.shell(
            "docker exec \(db) psql -U shop -d shop -Atc \"select count(*), md5(string_agg(note, ',' order by id)) from orders\"")

        try await withTemporaryDirectory { root in
            let jobID = ResourceID.make(.job)
            let setup = try JobRunnerTests.setup(root: root) { destination in
                [try Self.job(stack, id: jobID, destination: destination, stop: ["app"])]
            }
            let (run, snapshot) = try JobRunnerTests.finished(try await setup.execution().execute(.init(jobID: jobID, trigger: .manual)))
            #expect(run.status == .succeeded, "\(run.results) \(run.logExcerpt ?? "")")
            #expect(snapshot?.copies.first?.resticSnapshotIDs.count == 3, "two dumps and the files")
            let log = run.logExcerpt ?? ""
            #expect(log.contains("stopped container") && log.contains("started container"), "\(log)")
            #expect(!log.contains("pg-secret-value") && !log.contains("maria-root-secret"))

            let tagged = try setup.snapshots(tags: ["stack=\(stack.project)"])
            #expect(tagged.count == 3)
            #expect(tagged.allSatisfy { $0["hostname"] as? String == Fixtures.serverID }, "the restic host is the server id")
            let tags = Set(tagged.flatMap { $0["tags"] as? [String] ?? [] })
            #expect(tags.isSuperset(of: ["service=db", "service=maria", "volume=appdata", "volume=pgdata", "source=stack-files"]))
            #expect(!tags.contains("volume=cache"), "the volume labelled mzpanel.backup.exclude=true is left out")

            // The app runs again; nothing is left recorded as stopped.
            #expect(try DockerTestEngine.shell("docker inspect -f '{{.State.Status}}' \(app)").contains("running"))
            #expect(try StoppedServices.load(setup.state).isEmpty)

            // The PostgreSQL dump is a custom-format dump that loads into a new database with the same rows.
            let password = try setup.state.repositoryPasswordFile(destinationID: setup.destination.id)
            let restic = try #require(JobRunnerTests.restic)
            let dumpSnapshot = try #require(tagged.first { ($0["tags"] as? [String] ?? []).contains("service=db") }?["id"] as? String)
            try DockerTestEngine.shell("docker exec \(db) createdb -U shop restored")
            try DockerTestEngine.shell(
                "RESTIC_PASSWORD_FILE=\(password) RESTIC_CACHE_DIR=\(root)/cache \(restic) -r \(setup.repository) dump --no-lock \(dumpSnapshot) /stack-db.pgdump"
                    + " | docker exec -i \(db) pg_restore -U shop -d restored --no-owner")
            let restored = try DockerTestEngine.shell(
                "docker exec \(db) psql -U shop -d restored -Atc \"select count(*), md5(string_agg(note, ',' order by id)) from orders\"")
            #expect(restored == pgChecksum && pgChecksum.hasPrefix("50000|"), "\(restored) vs \(pgChecksum)")
            let mariaSnapshot = try #require(tagged.first { ($0["tags"] as? [String] ?? []).contains("service=maria") }?["id"] as? String)
            let mariaDump = try DockerTestEngine.shell(
                "RESTIC_PASSWORD_FILE=\(password) RESTIC_CACHE_DIR=\(root)/cache \(restic) -r \(setup.repository) dump --no-lock \(mariaSnapshot) /stack-maria.sql"
            )
            #expect(mariaDump.contains("CREATE TABLE `posts`") && mariaDump.contains("'post 500'"))
        }
    }

    @Test("a database service that is down fails the run naming it, and no snapshot is kept")
    func databaseDown() async throws {
        let stack = try DockerTestStack.make()
        defer { stack.remove() }
        try stack.up()
        try DockerTestEngine.shell("docker stop \(try stack.container("maria"))")
        try await withTemporaryDirectory { root in
            let jobID = ResourceID.make(.job)
            let setup = try JobRunnerTests.setup(root: root) { destination in [try Self.job(stack, id: jobID, destination: destination)] }
            let (run, snapshot) = try JobRunnerTests.finished(try await setup.execution().execute(.init(jobID: jobID, trigger: .manual)))
            #expect(run.status == .failed)
            #expect(snapshot == nil)
            let error = try #require(run.results.first?.error)
            #expect(error.contains("database service maria"), "\(error)")
            #expect(try setup.snapshots(tags: ["job=\(jobID)"]).isEmpty)
        }
    }

    @Test("services a killed run left stopped are started again by the repair")
    func repairAfterKill() throws {
        let stack = try DockerTestStack.make()
        defer { stack.remove() }
        try DockerTestEngine.shell("docker-compose -p \(stack.project) up -d app 2>&1", directory: stack.directory)
        let app = try stack.container("app")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-repair-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let state = try Fixtures.enrolledState(in: root, jobs: [])
        let docker = try DockerCLI.located()
        // What a run records before it stops a service; the run is then killed before it starts it again.
        _ = try StoppedServices.stop([app], docker: docker, state: state) { _ in }
        #expect(try DockerTestEngine.shell("docker inspect -f '{{.State.Status}}' \(app)").contains("exited"))
        #expect(try StoppedServices.load(state) == [app])
        StoppedServices.repair(state: state, docker: docker) { _ in }
        #expect(try DockerTestEngine.shell("docker inspect -f '{{.State.Status}}' \(app)").contains("running"))
        #expect(try StoppedServices.load(state).isEmpty)
    }
}

@Suite(
    "Stack restores (real engine, containers and restic)", .serialized,
    .enabled(if: DockerTestEngine.enabled && ResticPresence.usable, "no Docker test engine (scripts/docker-test-env) or no restic"))
struct StackRestoreTests {
    /// What must come back identical: PostgreSQL rows, MariaDB rows, the app volume's tree (paths,
    /// modes, owners, sizes, sha256) and the project directory's files.
    static func fingerprint(_ stack: DockerTestStack, project: String? = nil, directory: String? = nil) throws -> [String] {
        let project = project ?? stack.project
        let directory = directory ?? stack.directory
        func container(_ service: String) throws -> String {
            try DockerTestEngine.shell("docker-compose -p \(project) ps -q \(service)", directory: directory).trimmingCharacters(
                in: .whitespacesAndNewlines)
        }
        let db = try container("db")
        let maria = try container("maria")
        let app = try container("app")
        return [
            try DockerTestEngine.shell(
                "docker exec \(db) psql -U shop -d shop -Atc \"select count(*), md5(string_agg(note, ',' order by id)) from orders\""),
            try DockerTestEngine.shell(
                "docker exec \(maria) mariadb blog -N -e \"select count(*), md5(group_concat(title order by id)) from posts\""),
            try DockerTestEngine.shell(
                "docker exec \(app) sh -c 'cd /srv/app && find . -printf \"%p %m %u %g %s\\n\" | sort && find . -type f -exec sha256sum {} + | sort'"),
            try DockerTestEngine.shell("cd \(directory) && find . -type f -exec sha256sum {} + | sort"),
            try DockerTestEngine.shell("docker-compose -p \(project) ps --services --filter status=running | sort", directory: directory),
        ]
    }

    @Test("a stack comes back after down -v and a deleted project directory, on the same server and as another project elsewhere")
    func restoresAStack() async throws {
        let stack = try DockerTestStack.make()
        let other = "\(stack.project)copy"
        let otherDirectory = (stack.directory as NSString).deletingLastPathComponent + "/elsewhere/\(other)"
        defer {
            _ = try? DockerTestEngine.shell("docker-compose -p \(other) down -v 2>&1", directory: otherDirectory)
            stack.remove()
        }
        try stack.up()
        let db = try stack.container("db")
        let maria = try stack.container("maria")
        let app = try stack.container("app")
        try DockerTestEngine.shell(
            "docker exec \(db) psql -U shop -d shop -qc \"create table orders as select g as id, md5(g::text) as note from generate_series(1, 50000) g\""
        )
        try DockerTestEngine.shell(
            "docker exec \(maria) mariadb blog -e \"create table posts (id int primary key, title text); insert into posts select seq, concat('post ', seq) from seq_1_to_2000\""
        )
        try DockerTestEngine.shell(
            "docker exec \(app) sh -c 'mkdir -p /srv/app/a/b && echo hello > /srv/app/a/hello.txt && head -c 300000 /dev/urandom > /srv/app/a/b/blob"
                + " && chmod 640 /srv/app/a/hello.txt && chown 33:33 /srv/app/a/b/blob && ln -s a/hello.txt /srv/app/link'")
        let before = try Self.fingerprint(stack)
        #expect(before[0].hasPrefix("50000|") && before[1].hasPrefix("2000\t"), "\(before)")

        try await withTemporaryDirectory { root in
            let jobID = ResourceID.make(.job)
            let setup = try JobRunnerTests.setup(root: root) { destination in
                [try StackBackupTests.job(stack, id: jobID, destination: destination, includeBinds: [stack.outside])]
            }
            let (run, _) = try JobRunnerTests.finished(try await setup.execution().execute(.init(jobID: jobID, trigger: .manual)))
            #expect(run.status == .succeeded, "\(run.results) \(run.logExcerpt ?? "")")
            #expect(run.results.first?.stack?.bindMounts == [stack.outside], "\(run.results)")

            try DockerTestEngine.shell("docker-compose -p \(stack.project) down -v 2>&1", directory: stack.directory)
            try FileManager.default.removeItem(atPath: stack.directory)
            try FileManager.default.removeItem(atPath: stack.outside)

            let password = try setup.state.repositoryPasswordFile(destinationID: setup.destination.id)
            let repository = ResticRepository(
                location: setup.repository, environment: ["RESTIC_PASSWORD_FILE": password, "RESTIC_CACHE_DIR": root + "/cache"])
            let restic = try await Restic.detect(executable: try #require(JobRunnerTests.restic))
            let snapshots = try await restic.snapshots(repository, tags: ["stack=\(stack.project)"])
            #expect(snapshots.count == 3)
            let restore = StackRestore(restic: restic, repository: repository, docker: try DockerCLI.located(), log: { _ in })

            // The same server, the same place.
            try await restore.perform(snapshots, options: .init(), staging: root + "/staging-1")
            #expect(try Self.fingerprint(stack) == before)
            #expect(try String(contentsOfFile: stack.outside + "/shared.txt", encoding: .utf8) == "shared\n", "the included bind mount is back")
            let volumes = try DockerTestEngine.shell("docker volume ls -q --filter label=com.docker.compose.project=\(stack.project) | sort")
            #expect(volumes.split(separator: "\n").count == 4, "adopted, not duplicated: \(volumes)")

            // Over the running stack: refused without --overwrite.
            await #expect(throws: AgentError.self) {
                try await restore.perform(snapshots, options: .init(), staging: root + "/staging-2")
            }

            // As another project in another directory, through `mzpanel-agent restore SNAPSHOT --stack` (offline,
            // from any one snapshot of the run); the bind mount goes back to its host path, so it must be empty.
            try FileManager.default.removeItem(atPath: stack.outside)
            let restored = try await OfflineRestore(state: setup.state, log: RunLog(echo: false)).restoreStack(
                snapshot: try #require(snapshots.first).shortID, destination: setup.destination.name, project: other,
                projectDirectory: otherDirectory, overwrite: false)
            #expect(restored == other)
            let copied = try Self.fingerprint(stack, project: other, directory: otherDirectory)
            #expect(copied == before)
            #expect(try String(contentsOfFile: stack.outside + "/shared.txt", encoding: .utf8) == "shared\n")
        }
    }
}

@Suite(
    "Stack runs killed with kill -9 (real agent binary, engine and containers)", .serialized,
    .enabled(if: DockerTestEngine.enabled && AgentBinary.usable, "no Docker test engine (scripts/docker-test-env) or no agent binary"))
struct StackKillTests {
    @Test("kill -9 of the agent while the app is stopped for the volume copy: the agent's next run starts it again")
    func killNineDuringVolumeCopy() async throws {
        let stack = try DockerTestStack.make()
        defer { stack.remove() }
        try stack.up()
        let app = try stack.container("app")
        try DockerTestEngine.shell("docker exec \(app) sh -c 'head -c 400000000 /dev/urandom > /srv/app/big'")
        try await withTemporaryDirectory { root in
            let jobID = "job_stackkilljob0000001"
            let destination = Fixtures.localDestination(id: "dst_stackkilldest000001", path: root + "/backups")
            var job = try Fixtures.job(id: jobID, destinationIDs: [destination.id])
            job.sources = JobSources(stack: StackSource(project: stack.project, stop: ["app"]))
            let hub = try FakeHub.start(
                in: root, token: "enr_stack", enrollResponse: HubLinkTests.response,
                jobs: AgentJobSet(serverID: Fixtures.serverID, jobs: [AgentJob(job: job, destinations: [destination], envelopes: [])]))
            defer { hub.stop() }
            try Data("enr_stack\n".utf8).write(to: URL(fileURLWithPath: root + "/token"))
            let binary = try #require(AgentBinary.path)
            var environment = ["PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": root]
            environment["DOCKER_HOST"] = ProcessInfo.processInfo.environment["DOCKER_HOST"]
            let stateFlag = ["--state-dir", root + "/state"]
            let enrolled = try runProgram(
                binary, ["enroll", "--url", hub.url, "--token-file", root + "/token", "--no-systemd"] + stateFlag, environment: environment)
            try #require(enrolled.status == 0, "enroll: \(enrolled.output)")

            let run = Process()
            run.executableURL = URL(fileURLWithPath: binary)
            run.arguments = ["run", jobID] + stateFlag
            run.environment = environment
            run.standardError = FileHandle.nullDevice
            run.standardOutput = FileHandle.nullDevice
            try run.run()
            // Wait until the app is stopped for the copy and restic reads the volumes, then kill the agent.
            let state = AgentState(directory: root + "/state")
            var stopped = false
            for _ in 0..<1200 {
                let status = (try? DockerTestEngine.shell("docker inspect -f '{{.State.Status}}' \(app)")) ?? ""
                if status.contains("exited"), let runID = state.running.entries().first?.runID, !OrphanProcesses.find(runID: runID).isEmpty {
                    stopped = true
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            try #require(stopped, "the app was never stopped for the copy")
            kill(run.processIdentifier, SIGKILL)
            run.waitUntilExit()
            #expect(try DockerTestEngine.shell("docker inspect -f '{{.State.Status}}' \(app)").contains("exited"))
            let recorded = try StoppedServices.load(state)
            #expect(recorded.count == 1)
            #expect(
                try DockerTestEngine.shell("docker inspect -f '{{.Id}}' \(try #require(recorded.first))").contains(app),
                "the app is recorded as stopped")

            let next = try runProgram(binary, ["run", jobID] + stateFlag, environment: environment)
            #expect(next.status == 0, "\(next.output)")
            #expect(try DockerTestEngine.shell("docker inspect -f '{{.State.Status}}' \(app)").contains("running"))
            #expect(try StoppedServices.load(state).isEmpty)
        }
    }
}
