import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// What a browser fetches besides the pages: the favicon, and no API call that is bound to fail.
@Suite("web: favicon and the new-destination page")
struct WebAssetTests {
    @Test func pagesNameAFaviconThatIsServed() async throws {
        try await withTestHub { hub, client in
            let icon = try await client.call(.get, "/backups/static/img/favicon.svg")
            expectStatus(icon, .ok)
            #expect(icon.headers[.contentType]?.contains("svg") == true, "\(icon.headers)")
            #expect(icon.text.hasPrefix("<svg"))
            let login = try await client.call(.get, "/backups/login")
            #expect(login.text.contains(#"<link rel="icon" type="image/svg+xml" href="/backups/static/img/favicon.svg">"#))
        }
    }

    @Test func theNewDestinationPageSaysWhetherTheAccountHasAVault() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("vault-page@example.com", plan: .plus)
            let login = try await client.call(
                .post, "/api/v1/session", body: #"{"email":"vault-page@example.com","password":"\#(account.password)"}"#)
            let secret = try #require(login.cookies["mzpanel_session"]?.value)
            let session: HTTPFields = [.cookie: "mzpanel_session=\(secret)"]
            let before = try await client.call(.get, "/backups/destinations/new", headers: session)
            expectStatus(before, .ok)
            #expect(before.text.contains(#"data-vault="none""#), "the page tells the script there is no vault, so it asks nothing")
            #expect(before.text.contains(#"<link rel="icon" type="image/svg+xml""#))
            let box = #"{"nonce":"AAAAAAAAAAAAAAAA","ct":"\#(Data(count: 48).base64EncodedString())"}"#
            let vault = try await client.call(
                .put, "/api/v1/vault", token: account.token,
                body: """
                    {"vault":{"v":1,"kdf":"PBKDF2-SHA256","iterations":600000,"salt":"\(Data(count: 16).base64EncodedString())","passphrase":\(box),"recovery":\(box)}}
                    """)
            expectStatus(vault, .ok)
            let after = try await client.call(.get, "/backups/destinations/new", headers: session)
            #expect(after.text.contains(#"data-vault="present""#))
        }
    }
}
