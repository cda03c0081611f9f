extension Schedule {
    /// Rebuilds a schedule from its stored, already normalized form (no re-parsing).
    public init(storedCalendar: String, timeZone: String) {
        self.calendar = storedCalendar
        self.timeZone = timeZone
    }
}
