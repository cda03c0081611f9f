import MZPanelCLI

await MZPanelCommand.runMain()
