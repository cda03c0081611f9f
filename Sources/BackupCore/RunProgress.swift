/// Live progress of a run (from restic's status lines).
public struct RunProgress: Codable, Sendable, Equatable {
    public var percentDone: Double
    public var filesDone: Int64
    public var totalFiles: Int64
    public var bytesDone: Int64
    public var totalBytes: Int64
    public var secondsElapsed: Double
    public var secondsRemaining: Double?
    /// Which destination and source the numbers are about, e.g. "dst_… files".
    public var phase: String?

    public init(
        percentDone: Double, filesDone: Int64 = 0, totalFiles: Int64 = 0, bytesDone: Int64 = 0, totalBytes: Int64 = 0,
        secondsElapsed: Double = 0, secondsRemaining: Double? = nil, phase: String? = nil
    ) {
        self.percentDone = percentDone
        self.filesDone = filesDone
        self.totalFiles = totalFiles
        self.bytesDone = bytesDone
        self.totalBytes = totalBytes
        self.secondsElapsed = secondsElapsed
        self.secondsRemaining = secondsRemaining
        self.phase = phase
    }
}
