import Logging

extension ImagingServer {
    /// Removes temporary files that attempts which died mid-write left in a job's output
    /// directory: at the end of a job every task has answered, so any such file is an orphan.
    func sweepTemporaryFiles(in output: String, logger: Logger) {
        let removed = self.storage.sweepTemporaryFiles(in: output)
        if removed > 0 {
            logger.info("removed temporary files of lost attempts", metadata: ["output": "\(output)", "count": "\(removed)"])
        }
    }
}
