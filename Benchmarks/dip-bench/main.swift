import DistributedImaging
import Foundation

// `dip-bench scheduling [--tasks N] [--runs N]`: see SchedulingBenchmark.swift.
if CommandLine.arguments.dropFirst().first == "scheduling" {
    await SchedulingBenchmark.main(arguments: Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
}

print("dip-bench: not written yet")
