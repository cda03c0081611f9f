/// Why sealing or opening failed, in words a person can act on. Never carries key material.
public enum SealingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Wrong server, wrong destination, a swapped or altered envelope: one message on purpose.
    case cannotOpen
    case wrongPassphrase
    case wrongRecoveryKey
    case invalid(String)

    public var description: String {
        switch self {
        case .cannotOpen:
            "the credential cannot be opened on this server (it was sealed for another server or destination, or it was altered); seal the destination to this server again (`mzpanel destinations attach`)"
        case .wrongPassphrase:
            "the vault passphrase is wrong; try again, or unlock with the recovery key"
        case .wrongRecoveryKey:
            "the recovery key is wrong; check it against the printed copy (52 letters and digits in groups of 4)"
        case .invalid(let message):
            message
        }
    }
}
