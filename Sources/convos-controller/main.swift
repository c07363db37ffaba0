import App
import Foundation

// Wiring only: every command lives in the App and CLI modules, where the tests reach it too.
exit(await CommandLineTool.run(CommandLine.arguments))
