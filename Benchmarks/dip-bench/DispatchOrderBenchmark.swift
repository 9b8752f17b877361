// Largest first: the makespan of one real job with each dispatch order.
//
// Usage: swift run -c release dip-bench dispatch-order [CORPUS] [--slots N] [--reps N] [--pipeline SPEC]
//
// Copies CORPUS/photos and CORPUS/large (default ../shared/corpus) into one flat input directory
// in a temporary storage root (names interleave the two sets), then runs the job on an embedded
// cluster — one `ImagingServer` and two `ImagingNode`s in this process (`LocalCluster`, in-process
// transport; Mandatory, load 0, no delay; --slots each, default 1) — with `dispatchOrder`
// `submission` and `largest-first`, alternating, --reps times each (default 5). Real decoding,
// filtering and encoding; prints each run's makespan (the receipt's: first dispatch to last task's
// end) and the median per order.

import DistributedImaging
import Foundation

enum DispatchOrderBenchmark {
    static func main(arguments: [String]) async -> Bool {
        var corpus = "../shared/corpus"
        var slots = 1
        var reps = 5
        var pipeline = JobRequest.defaultPipeline
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--slots": slots = Int(iterator.next() ?? "") ?? slots
            case "--reps": reps = Int(iterator.next() ?? "") ?? reps
            case "--pipeline": pipeline = iterator.next() ?? pipeline
            default:
                guard !argument.hasPrefix("--") else {
                    print("usage: dip-bench dispatch-order [CORPUS] [--slots N] [--reps N] [--pipeline SPEC]")
                    return false
                }
                corpus = argument
            }
        }
        let files = FileManager.default
        let root = files.temporaryDirectory.appendingPathComponent("dip-bench-lpt-\(getpid())").path
        defer { try? files.removeItem(atPath: root) }
        do {
            try files.createDirectory(atPath: root + "/in", withIntermediateDirectories: true)
            var bytes: Int64 = 0
            var count = 0
            for set in ["photos", "large"] {
                for name in try files.contentsOfDirectory(atPath: "\(corpus)/\(set)").sorted() {
                    try files.copyItem(atPath: "\(corpus)/\(set)/\(name)", toPath: "\(root)/in/\(name)")
                    bytes += (try files.attributesOfItem(atPath: "\(root)/in/\(name)")[.size] as? Int64) ?? 0
                    count += 1
                }
            }
            print("dip-bench dispatch-order: \(count) files (\(bytes / 1_000_000) MB) from \(corpus)/{photos,large}, 2 embedded nodes × \(slots) slots, pipeline '\(pipeline)', \(reps) reps")
            var makespans: [DispatchOrder: [Double]] = [:]
            for rep in 0..<reps {
                for order in DispatchOrder.allCases {
                    var server = ServerConfiguration(seed: 1)
                    server.dispatchOrder = order
                    let nodes = try LocalCluster.nodeConfigurations(count: 2, policy: .mandatory, loads: [0], delay: 0, maxConcurrentTasks: slots)
                    let cluster = try LocalCluster(storageRoot: root, nodes: nodes, server: server, seed: 1)
                    let receipt = try await cluster.submit(
                        JobRequest(inputDirectory: "in", outputDirectory: "out-\(order)-\(rep)", pipeline: pipeline, force: true))
                    guard receipt.status == .succeeded, let makespan = receipt.makespan else {
                        print("FAIL: \(order) rep \(rep): \(receipt.message)")
                        return false
                    }
                    makespans[order, default: []].append(makespan)
                    print(String(format: "  rep %ld %-13@ makespan %.3f s; %@", rep + 1, order.rawValue as NSString, makespan, (receipt.timingLine ?? "") as NSString))
                    try? files.removeItem(atPath: "\(root)/out-\(order)-\(rep)")
                }
            }
            for order in DispatchOrder.allCases {
                let sorted = (makespans[order] ?? []).sorted()
                print(String(format: "median %-13@ %.3f s (min %.3f, max %.3f)", order.rawValue as NSString, sorted[sorted.count / 2], sorted.first ?? 0, sorted.last ?? 0))
            }
            return true
        } catch {
            print("FAIL: dip-bench dispatch-order: \(error)")
            return false
        }
    }
}
