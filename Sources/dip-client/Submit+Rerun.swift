import ArgumentParser
import DIPCommandSupport
import DistributedImaging
import Foundation

extension Submit {
    /// What `--only-failed RECEIPT` asks for.
    struct Rerun {
        /// The failures of the receipt, paths relative to the storage root.
        var request: JobRequest
        /// The storage root the receipt's paths are relative to, found from where the receipt lies
        /// (its directory is `<root>/<output>`); used with --embedded.
        var root: String
    }

    /// Reads `--only-failed`'s receipt; `nil` without the option. Exits 0 when it lists no failures.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidArgument` naming the file.
    func rerunRequest() throws -> Rerun? {
        guard let path = self.onlyFailed else { return nil }
        let absolute = Self.absolute(path)
        guard let data = FileManager.default.contents(atPath: absolute) else {
            throw DistributedImagingError(code: .invalidArgument, message: "--only-failed: cannot read '\(path)'")
        }
        let receipt = try JobReceipt.decodeJSON(Array(data), source: path)
        let format: OutputFormat? = self.format.map { $0 == .png ? .png : .jpeg(quality: self.quality ?? 95) }
        var request = JobRequest(rerunningFailuresOf: receipt, outputFormat: format)
        if self.recursive { request.recursive = true }
        let only = request.only ?? []
        let directory = URL(fileURLWithPath: absolute).deletingLastPathComponent().path
        let root: String
        if receipt.output == "." {
            root = directory
        } else if directory.hasSuffix("/" + receipt.output) {
            root = String(directory.dropLast(receipt.output.count + 1))
        } else {
            root = URL(fileURLWithPath: directory).deletingLastPathComponent().path
        }
        if only.isEmpty {
            self.say("nothing to re-run: \(path) (job \(receipt.jobID), \(receipt.status)) lists no failed tasks")
            throw ExitCode.success
        }
        self.say(
            "re-running \(only.count) failed task\(only.count == 1 ? "" : "s") of job \(receipt.jobID) "
                + "(\(receipt.input) → \(receipt.output), pipeline '\(receipt.pipeline)')")
        return Rerun(request: request, root: root.isEmpty ? "/" : root)
    }
}

extension Submit {
    /// The formats of `--events`.
    enum EventsFormat: String, ExpressibleByArgument {
        case jsonl
    }
}
