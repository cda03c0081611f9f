import ArgumentParser

/// The commands that run on the hub's machine and work on its state directly: `serve` and `admin`.
public enum HubCommands {
    public static var all: [any ParsableCommand.Type] { [ServeCommand.self, AdminCommand.self] }
}
