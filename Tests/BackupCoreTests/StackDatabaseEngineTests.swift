import BackupCore
import Testing

@Suite("Database services of a stack are recognised by image and environment")
struct StackDatabaseEngineTests {
    @Test(
        arguments: [
            ("postgres:16", [String](), StackDatabaseEngine.postgresql),
            ("docker.io/library/postgres:16-alpine@sha256:ab", [], .postgresql),
            ("bitnami/postgresql:15", [], .postgresql),
            ("postgis/postgis:16-3.4", [], .postgresql),
            ("mariadb:11", [], .mariadb),
            ("mysql:8.4", [], .mysql),
            ("mongo:7", [], .mongodb),
            ("redis:7-alpine", [], .redis),
            ("registry.local:5000/team/db:1", ["POSTGRES_PASSWORD=x"], .postgresql),
            ("custom/db", ["MARIADB_ROOT_PASSWORD=x"], .mariadb),
            ("custom/db", ["MYSQL_ROOT_PASSWORD=x"], .mysql),
            ("custom/db", ["MONGO_INITDB_ROOT_USERNAME=x"], .mongodb),
        ])
    func recognised(image: String, environment: [String], engine: StackDatabaseEngine) {
        #expect(StackDatabaseEngine.recognise(image: image, environment: environment) == engine)
    }

    @Test(arguments: ["nginx:1.27", "registry.local:5000/postgres-tools/web:1", "wordpress:6"])
    func notADatabase(image: String) {
        #expect(StackDatabaseEngine.recognise(image: image, environment: ["WORDPRESS_DB_PASSWORD=x", "PATH=/usr/bin"]) == nil)
    }
}
