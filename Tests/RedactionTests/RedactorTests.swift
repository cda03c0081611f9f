import Redaction
import Testing

@Suite("Redactor")
struct RedactorTests {
    @Test("known secret values are masked, the longest first")
    func knownSecrets() {
        let redactor = Redactor(secrets: ["hunter2", "hunter2-very-secret", ""])
        #expect(redactor.redact("password is hunter2-very-secret") == "password is [redacted]")
        #expect(redactor.redact("a hunter2 b") == "a [redacted] b")
        #expect(redactor.redact("nothing here") == "nothing here")
    }

    @Test("a secret added later is masked from then on")
    func addedSecret() {
        var redactor = Redactor()
        #expect(redactor.redact("key abc123xyz") == "key abc123xyz")
        redactor.add("abc123xyz")
        #expect(redactor.redact("key abc123xyz") == "key [redacted]")
    }

    @Test("the whole user info of every URL is masked, a token used as the user too")
    func urlUserInfo() {
        #expect(Redactor().redact("rest:https://alice:pa55@peer:8000/alice/") == "rest:https://[redacted]@peer:8000/alice/")
        #expect(Redactor().redact("clone https://ghp_abcdef@github.example/x") == "clone https://[redacted]@github.example/x")
        #expect(
            Redactor.redactURLCredentials(#"Head "http://u:p@a/b": refused, and s3:https://k:v@x/y"#)
                == #"Head "http://[redacted]@a/b": refused, and s3:https://[redacted]@x/y"#)
        #expect(
            Redactor().redact("cannot connect: postgres://mz:pw@db:5432/mz (refused)") == "cannot connect: postgres://[redacted]@db:5432/mz (refused)"
        )
        #expect(Redactor.redactURLCredentials("<smtp://mail:x@smtp.example>") == "<smtp://[redacted]@smtp.example>")
        #expect(Redactor().redact("https://host/path@x") == "https://host/path@x")
        #expect(Redactor().redact("no url here") == "no url here")
    }

    @Test("keyword-shaped values are masked")
    func keywordPatterns() {
        let redactor = Redactor()
        #expect(redactor.redact("PGPASSWORD=abc other") == "PGPASSWORD=[redacted] other")
        #expect(redactor.redact(#"secret_key: "two words" then"#) == "secret_key: [redacted] then")
        #expect(redactor.redact("api_key=k1 token=t2") == "api_key=[redacted] token=[redacted]")
        #expect(redactor.redact("Authorization: Agent mza_123") == "Authorization: Agent [redacted]")
        #expect(redactor.redact("authorization: Bearer eyJhbGci.x.y") == "authorization: Bearer [redacted]")
        #expect(redactor.redact("wrong password or no key found") == "wrong password or no key found")
        #expect(redactor.redact("db_password: hunter2 next") == "db_password: [redacted] next")
        // A keyword inside a longer word is not a keyword: restic's messages stay readable.
        #expect(redactor.redact("getCredentials: no credentials found") == "getCredentials: no credentials found")
    }

    @Test("the credential parts of a location include the decoded password")
    func credentialParts() {
        let parts = Redactor.credentialParts(in: "rest:https://agent:p%40ss@backup.example:8000/web-1")
        #expect(parts == ["agent:p%40ss", "p%40ss", "p@ss"])
        #expect(Redactor.credentialParts(in: "https://tok@host/x") == ["tok"])
        #expect(Redactor.credentialParts(in: "/srv/restic-repo").isEmpty)
    }

    @Test("every mask is the one mask text")
    func oneMask() {
        let text = Redactor(secrets: ["s3cr3t"]).redact("s3cr3t https://u:p@h password=x Authorization: Basic dXNlcg==")
        #expect(text == "[redacted] https://[redacted]@h password=[redacted] Authorization: Basic [redacted]")
        #expect(Redactor.mask == "[redacted]")
    }
}
