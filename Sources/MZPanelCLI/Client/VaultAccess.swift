import ArgumentParser
import BackupCore
import Foundation
import HubAPI
import Sealing
import SecretFiles

/// Where the vault passphrase comes from: `--vault-passphrase-file`, `MZPANEL_VAULT_PASSPHRASE_FILE`,
/// `--vault-recovery-key-file`, or a prompt on a terminal. Never a flag's value.
struct VaultOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "A file holding the account's vault passphrase (or - for standard input). Default: $MZPANEL_VAULT_PASSPHRASE_FILE, else a prompt.")
    var vaultPassphraseFile: String?
    @Option(name: .long, help: "Unlock the vault with the recovery key in this file instead of the passphrase.")
    var vaultRecoveryKeyFile: String?
    @Option(name: .long, help: "When this command creates the vault: also write the recovery key to this new file (mode 0600).")
    var recoveryKeyOut: String?
    @Option(
        name: .long,
        help:
            "A file holding your own member passphrase (or -), to open the vault through your own wrapping (`mzpanel vault member-key`). Default: $MZPANEL_MEMBER_PASSPHRASE_FILE, else a prompt when you have a wrapping."
    )
    var memberPassphraseFile: String?

    var passphraseFile: String? {
        vaultPassphraseFile ?? ProcessInfo.processInfo.environment["MZPANEL_VAULT_PASSPHRASE_FILE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    var memberFile: String? {
        memberPassphraseFile ?? ProcessInfo.processInfo.environment["MZPANEL_MEMBER_PASSPHRASE_FILE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// True when a passphrase or recovery key can be had without asking (or a terminal can ask).
    var canUnlock: Bool { passphraseFile != nil || vaultRecoveryKeyFile != nil || memberFile != nil || isatty(STDIN_FILENO) == 1 }
}

/// An unlocked vault: its key and the account signing key inside it.
struct UnlockedVault {
    let accountID: String
    let vaultKey: Data
    let signingKey: AccountSigningKey
}

/// Unlocks (or, for the first offsite destination, creates) the account's vault.
struct VaultAccess {
    let client: APIClient
    let options: VaultOptions

    func account() async throws -> Account {
        try await client.send("GET", "/api/v1/account", as: AccountView.self).account
    }

    func accountID() async throws -> String { try await account().id }

    /// The vault key and the signing key. Creates the vault when the account has none and `create`
    /// is true; gives a vault made before signing existed its signing key.
    func open(accountID: String, create: Bool) async throws -> UnlockedVault {
        let document: VaultDocument
        let member: MemberVaultEntry?
        do {
            let view = try await client.send("GET", "/api/v1/vault", as: VaultView.self)
            document = view.vault
            member = view.member
        } catch let error as CLIError where error.exitCode == 3 {
            guard create else {
                throw CLIError(
                    "this account has no vault yet: add an offsite destination first (`mzpanel destinations add … --kind s3 …` creates it)")
            }
            return try await createVault(accountID: accountID)
        }
        let vaultKey: Data
        if let file = options.vaultRecoveryKeyFile {
            vaultKey = try wrap {
                try Vault.unlock(document, accountID: accountID, recoveryKey: try SecretInput.read(file: file, what: "recovery key"))
            }
        } else if let own = try openOwnWrapping(member, accountID: accountID) {
            vaultKey = own
        } else {
            let passphrase = try readPassphrase(confirm: false)
            vaultKey = try wrap { try Vault.unlock(document, accountID: accountID, passphrase: passphrase) }
        }
        if let signingKey = try wrap({ try Vault.signingKey(document, accountID: accountID, vaultKey: vaultKey) }) {
            return UnlockedVault(accountID: accountID, vaultKey: vaultKey, signingKey: signingKey)
        }
        let (upgraded, signingKey) = try wrap { try Vault.addingSigningKey(document, accountID: accountID, vaultKey: vaultKey) }
        _ = try await client.raw("PUT", "/api/v1/vault", body: VaultRequest(vault: upgraded, replace: true))
        FileHandle.standardError.write(Data("The vault now holds the account signing key (fingerprint \(signingKey.fingerprint)).\n".utf8))
        return UnlockedVault(accountID: accountID, vaultKey: vaultKey, signingKey: signingKey)
    }

    private func createVault(accountID: String) async throws -> UnlockedVault {
        FileHandle.standardError.write(
            Data("This account has no vault yet. Its passphrase protects every offsite credential; the hub never sees it.\n".utf8))
        let passphrase = try readPassphrase(confirm: true)
        let created = try wrap { try Vault.create(accountID: accountID, passphrase: passphrase) }
        _ = try await client.raw("PUT", "/api/v1/vault", body: VaultRequest(vault: created.document))
        if let path = options.recoveryKeyOut {
            // A new file only (never over an existing one or through a symlink), 0600 from the start.
            guard (try? SecretFile.create(Data((created.recoveryKey + "\n").utf8), at: path)) == true else {
                throw CLIError("cannot write the recovery key to \(path); the vault was created, so copy the key printed below")
            }
        }
        FileHandle.standardError.write(
            Data(
                """

                Vault created. Recovery key (shown once; print it and keep it offline — it unlocks the vault if the passphrase is lost):

                    \(created.recoveryKey)


                """.utf8))
        let unlocked = UnlockedVault(accountID: accountID, vaultKey: created.vaultKey, signingKey: created.signingKey)
        // Trust mode is on from now: sign what the account already has, so its servers keep running it.
        let signed = try await ManifestSigner(client: client, vault: unlocked).signExisting()
        if !signed.isEmpty {
            FileHandle.standardError.write(
                Data(
                    ("Trust mode is on: servers will run only what this account key signs. Signed what the account already had:\n"
                        + signed.map { "  \($0)\n" }.joined()).utf8))
        }
        return unlocked
    }

    /// The vault key through the caller's own wrapping (docs/sealing.md, "Member wrappings"), when they have one and
    /// their own passphrase can be had (a file, or a prompt when no vault passphrase file was given). Nil to fall back to
    /// the shared vault passphrase: no wrapping, or a wrong own passphrase typed at the prompt.
    func openOwnWrapping(_ member: MemberVaultEntry?, accountID: String) throws -> Data? {
        guard let member, let wrapping = member.wrapping else {
            if options.memberFile != nil, options.passphraseFile == nil, isatty(STDIN_FILENO) != 1 {
                throw CLIError(
                    member == nil
                        ? "you have no member key yet: make one with `mzpanel vault member-key`, then ask someone who can open the vault to grant it (or give --vault-passphrase-file)"
                        : "the vault is not granted to your member key \(member!.keyID) yet: ask someone who can open it to run `mzpanel vault grant YOUR-EMAIL --fingerprint \(member!.keyID)` (or give --vault-passphrase-file)"
                )
            }
            return nil
        }
        let passphrase: String
        if let file = options.memberFile {
            passphrase = try SecretInput.read(file: file, what: "member passphrase")
        } else if options.passphraseFile == nil, isatty(STDIN_FILENO) == 1 {
            passphrase = try SecretInput.prompt("Your own passphrase (member key \(member.keyID))", flag: "--member-passphrase-file")
        } else {
            return nil
        }
        do {
            let privateKey = try MemberVault.unlockKey(member.key, accountID: accountID, memberID: member.memberID, passphrase: passphrase)
            return try MemberVault.unwrap(Data(wrapping.utf8), accountID: accountID, memberID: member.memberID, privateKey: privateKey)
        } catch SealingError.wrongPassphrase where options.memberFile == nil {
            FileHandle.standardError.write(Data("That is not your own passphrase; trying the shared vault passphrase.\n".utf8))
            return nil
        } catch let error as SealingError {
            throw CLIError("your own wrapping of the vault did not open: \(error.description)")
        }
    }

    private func readPassphrase(confirm: Bool) throws -> String {
        if let file = options.passphraseFile { return try SecretInput.read(file: file, what: "vault passphrase") }
        let passphrase = try SecretInput.prompt("Vault passphrase", flag: "--vault-passphrase-file")
        if confirm {
            let again = try SecretInput.prompt("Vault passphrase again", flag: "--vault-passphrase-file")
            guard again == passphrase else { throw CLIError("the two passphrases differ; nothing was changed") }
        }
        return passphrase
    }

    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SealingError {
            throw CLIError(error.description)
        }
    }
}

/// Seals a destination's data key to a server: fetch the server's public key, unwrap the data
/// key with the vault key, build the envelope, store it. For a peer destination it also makes
/// the source server's login.
struct DestinationSealer {
    let client: APIClient
    let vault: UnlockedVault
    var accountID: String { vault.accountID }

    /// Whether the server's key carries a valid certificate from the account key this vault holds
    /// (the only keys a credential is sealed to).
    func isCertified(_ server: Server) -> Bool {
        guard let publicKey = server.publicKey.flatMap({ Data(base64Encoded: $0) }) else { return false }
        return ServerCertificate.isValid(
            server.certificate, accountID: accountID, serverID: server.id, publicKey: publicKey, accountKey: vault.signingKey.publicKey)
    }

    /// `recoveringFrom`: a lost server's id whose peer repository this server may read (a new login as that server).
    func seal(_ destination: Destination, to serverReference: String, recoveringFrom lost: String? = nil) async throws -> Server {
        guard let record = destination.credentialKey else {
            throw CLIError("destination \(destination.name) has no credential yet; add it again with its credential files")
        }
        let server = try await client.send("GET", "/api/v1/servers/\(serverReference.pathSegment)", as: Server.self)
        guard let publicKeyText = server.publicKey, let publicKey = Data(base64Encoded: publicKeyText), let keyID = server.keyFingerprint else {
            throw CLIError("server \(server.name) has not enrolled yet, so it has no key to seal to; run `mzpanel-agent enroll` on it first")
        }
        guard isCertified(server) else { throw CertifyServer.uncertified(server, publicKey: publicKey) }
        do {
            let dataKey = try DestinationKey.open(record, accountID: accountID, destinationID: destination.id, vaultKey: vault.vaultKey)
            var login: PeerLogin?
            if destination.kind == .peer { login = PeerLogin.generate(serverID: server.id) }
            let recovery = lost.map { PeerLogin.generate(serverID: $0) }
            var secrets = login?.serverSecrets
            if let recovery {
                secrets?["recoverUser"] = recovery.user
                secrets?["recoverPassword"] = recovery.password
            }
            let address = Envelope.Address(accountID: accountID, destinationID: destination.id, serverID: server.id, keyID: keyID)
            let bytes = try Envelope.seal(
                to: address, serverPublicKey: publicKey, dataKey: dataKey, credentialBox: record.credential,
                serverSecrets: secrets)
            _ = try await client.raw(
                "PUT", "/api/v1/destinations/\(destination.id)/envelopes/\(server.id)",
                body: EnvelopeRequest(
                    keyID: keyID, version: Envelope.version, ciphertext: bytes.base64EncodedString(), peerLogin: login?.htpasswdLine,
                    recoveryLogin: recovery?.htpasswdLine))
        } catch let error as SealingError {
            throw CLIError(error.description)
        }
        return server
    }
}

/// After a job is added or changed: seal each of its offsite destinations that is not yet sealed
/// to the job's server (a new server for that destination). Returns what it did, in words.
enum JobSealing {
    static func sealMissing(job: Job, client: APIClient, session: VaultSession) async throws -> [String] {
        var missing: [Destination] = []
        for id in job.destinationIDs {
            // One request: the answer is the destination plus who it is sealed to.
            let data = try await client.raw("GET", "/api/v1/destinations/\(id)")
            let destination = try HubDecoding.decode(Destination.self, data)
            guard destination.kind.isOffsite else { continue }
            let detail = try HubDecoding.decode(DestinationView.self, data)
            if !detail.sealedTo.contains(job.serverID) { missing.append(destination) }
        }
        guard !missing.isEmpty else { return [] }
        let names = missing.map(\.name).joined(separator: ", ")
        guard session.access.options.canUnlock else {
            return [
                "Not yet sealed to this server: \(names). Runs will fail on those destinations until you run: "
                    + missing.map { "mzpanel destinations attach \($0.name) --server \(job.serverID)" }.joined(separator: "; ")
            ]
        }
        let sealer = DestinationSealer(client: client, vault: try await session.unlocked())
        var lines: [String] = []
        for destination in missing {
            let server = try await sealer.seal(destination, to: job.serverID)
            lines.append("Sealed \(destination.name) to \(server.name).")
        }
        return lines
    }
}
