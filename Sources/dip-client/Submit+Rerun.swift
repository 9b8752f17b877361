import ArgumentParser
import DistributedImaging

extension Submit {
    /// Reads `--only-failed`'s receipt; `nil` without the option. Exits 0 when it lists no failures.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidArgument` naming the file.
    func rerunRequest() throws -> JobRequest.Rerun? {
        guard let path = self.onlyFailed else { return nil }
        let format: OutputFormat? = self.format.map { $0 == .png ? .png : .jpeg(quality: self.quality ?? 95) }
        var rerun = try JobRequest.Rerun(receiptAt: Self.absolute(path), named: path, outputFormat: format)
        if self.recursive { rerun.request.recursive = true }
        let (receipt, only) = (rerun.receipt, rerun.request.only ?? [])
        if only.isEmpty {
            self.report.say("nothing to re-run: \(path) (job \(receipt.jobID), \(receipt.status)) lists no failed tasks")
            throw ExitCode.success
        }
        self.report.say(
            "re-running \(only.count) failed task\(only.count == 1 ? "" : "s") of job \(receipt.jobID) "
                + "(\(receipt.input) → \(receipt.output), pipeline '\(receipt.pipeline)')")
        return rerun
    }
}
