import ArgumentParser
import DistributedImaging

extension Submit {
    /// Reads `--only-failed`'s receipt; `nil` without the option. Exits 0 when it lists no failures.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidArgument` naming the file.
    func rerunRequest() throws -> JobRequest.Rerun? {
        guard let path = self.onlyFailed else { return nil }
        let format: OutputFormat? = self.format.map { $0 == .png ? .png : .jpeg(quality: self.quality ?? 95) }
        var rerun = try JobRequest.Rerun(receiptAt: SharedStorage.absolutePath(path), named: path, outputFormat: format)
        if self.recursive { rerun.request.recursive = true }
        self.report.say(rerun.announcement(named: path))
        if rerun.request.only?.isEmpty ?? true { throw ExitCode.success }
        return rerun
    }
}
