import BackupCore
import Crypto
import Foundation
import Hummingbird
import Store

/// Who is looking at a page: the session's account and the form token for this session.
struct PageCaller: Sendable {
    let account: Account
    /// HMAC of the session secret: a cross-site page cannot know it, so a form carrying it came from our page.
    let csrf: String
}

extension PageCaller {
    static func csrfToken(sessionSecret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("mzpanel-csrf/v1".utf8), using: SymmetricKey(data: Data(sessionSecret.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }

    /// The page's caller from the session cookie, or nil (the page then sends the user to log in).
    static func from(_ request: Request, context: HubRequestContext, store: any HubStore) async throws -> PageCaller? {
        guard case .session = context.caller?.method, let accountID = context.caller?.accountID,
            let secret = request.cookies[Authenticator.sessionCookie]?.value,
            let account = try await store.account(id: accountID)
        else { return nil }
        return PageCaller(account: account, csrf: csrfToken(sessionSecret: secret))
    }

    /// Whether a posted form carries the token `csrf` (constant time).
    static func formCarries(_ form: FormData, csrf: String) -> Bool {
        let sent = Array((form["csrf"] ?? "").utf8)
        let expected = Array(csrf.utf8)
        var difference = UInt8(sent.count == expected.count ? 0 : 1)
        for (a, b) in zip(sent, expected) { difference |= a ^ b }
        return difference == 0
    }

    /// Checks a posted form's token (constant time).
    func checkCSRF(_ form: FormData) throws {
        guard Self.formCarries(form, csrf: csrf) else {
            throw APIError(.forbidden, code: "csrf", "the form has expired or did not come from this site; reload the page and try again")
        }
    }
}
