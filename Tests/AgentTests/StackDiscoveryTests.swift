import BackupCore
import Foundation
import Testing

@testable import Agent

@Suite(
    "Docker stack discovery (real engine and containers)", .serialized,
    .enabled(if: DockerTestEngine.enabled, "no Docker test engine (scripts/docker-test-env)"))
struct StackDiscoveryTests {
    @Test("a compose project is found with its services, volumes, bind mounts and databases")
    func discoversStack() throws {
        let stack = try DockerTestStack.make()
        defer { stack.remove() }
        try stack.up()
        try DockerTestEngine.shell("docker exec \(stack.container("app")) sh -c 'head -c 100000 /dev/urandom > /srv/app/blob'")

        let found = try StackDiscovery(docker: DockerCLI.located()).stacks(project: stack.project)
        let discovered = try #require(found.first)
        #expect(found.count == 1)
        #expect(discovered.project == stack.project)
        #expect(discovered.directory == stack.directory)
        #expect(discovered.configFiles == [stack.directory + "/docker-compose.yml"])
        #expect(discovered.services.map(\.name) == ["app", "db", "maria"])
        #expect(discovered.services.map(\.state) == ["running", "running", "running"])
        #expect(discovered.services.map(\.database) == [nil, .postgresql, .mariadb])
        #expect(discovered.services.map(\.stopForBackup) == [true, false, false])
        #expect(discovered.databaseServices.map(\.name) == ["db", "maria"])
        #expect(discovered.volumes.map(\.name) == ["appdata", "cache", "mariadata", "pgdata"])
        #expect(discovered.volumes.map(\.engineName) == ["appdata", "cache", "mariadata", "pgdata"].map { "\(stack.project)_\($0)" })
        #expect(discovered.volumes.map(\.excluded) == [false, true, false, false])
        let appdata = try #require(discovered.volumes.first)
        #expect((appdata.sizeBytes ?? 0) >= 100_000)
        #expect(discovered.bindMounts.map(\.source) == [stack.directory + "/config", stack.outside])
        #expect(discovered.bindMounts.map(\.insideProject) == [true, false])

        // Environment values (database passwords) are read to recognise engines, never reported.
        let json = String(decoding: try JSONEncoder().encode(found), as: UTF8.self)
        #expect(!json.contains("pg-secret-value") && !json.contains("maria-root-secret"))

        // A stopped service is reported as such; all stacks include this one.
        try DockerTestEngine.shell("docker stop \(stack.container("app"))")
        let all = try StackDiscovery(docker: DockerCLI.located(), measureVolumes: false).stacks()
        let again = try #require(all.first { $0.project == stack.project })
        #expect(again.services.first { $0.name == "app" }?.state == "exited")
        #expect(again.volumes.allSatisfy { $0.sizeBytes == nil })
    }

    @Test("no engine answering is an error in words")
    func noEngine() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
        let docker = try DockerCLI.located(environment: environment)
        #expect(throws: AgentError.self) { try StackDiscovery(docker: docker).stacks() }
    }
}
