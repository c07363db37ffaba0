import Controller
import Foundation

// Wiring only: every command lives in the Controller module, where the tests reach it too.
exit(await CommandLineTool.run(CommandLine.arguments))
