import BackupCore
import Testing

@Suite struct ByteSizeTests {
    @Test(arguments: [
        ("1048576", Int64(1 << 20)), ("500MiB", Int64(500 << 20)), ("2G", Int64(2) << 30), ("2GB", Int64(2_000_000_000)),
        ("1.5TiB", Int64(1.5 * Double(1 << 40))), (" 10 k ", Int64(10_240)),
    ])
    func sizesPeopleWrite(_ text: String, _ bytes: Int64) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test(arguments: ["", "lots", "-5G", "5 parsecs", "1e999"])
    func nonsenseIsRefused(_ text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test func aPeerQuotaBelowOneMebibyteIsRefusedWithItsField() {
        let settings = DestinationSettings(peerServerID: "srv_1", peerAddress: "peer.example.net:8443", quotaBytes: 1000)
        #expect(throws: DomainError.self) { try settings.validated(for: .peer) }
        do { _ = try settings.validated(for: .peer) } catch { #expect(error.field == "quotaBytes") }
        #expect(
            (try? DestinationSettings(peerServerID: "srv_1", peerAddress: "peer.example.net:8443", quotaBytes: 1 << 30).validated(for: .peer))?
                .quotaBytes == 1 << 30)
    }
}
