/// Decides which images of a job run again: the re-run rules of ``JobRequest/force`` and
/// ``JobRequest/only``.
///
/// An image is *complete* when the output directory's previous `receipt.json` has the same
/// canonical pipeline and lists the image with the same output path as succeeded (or as skipped
/// because it was already complete), and that output file exists. The output path carries the
/// format's extension, so a change of format re-runs; a change of JPEG quality alone does not
/// (use ``JobRequest/force``).
struct RerunSelection {
    /// The previous receipt's complete entries: input → output.
    private let complete: [String: String]
    private let previousJob: JobID?
    private let only: Set<String>?
    private let storage: SharedStorage

    /// Reads the previous receipt in `output`, if any (an unreadable one counts as none).
    init(request: JobRequest, output: String, pipeline: String, storage: SharedStorage) {
        self.storage = storage
        self.only = request.only.map { paths in Set(paths.map { (try? storage.relativePath($0)) ?? $0 }) }
        guard !request.force,
            let bytes = try? storage.read(OutputNaming.join(output, ReceiptRecorder.fileName)),
            let previous = try? JobReceipt.decodeJSON(bytes, source: ReceiptRecorder.fileName),
            previous.pipeline == pipeline
        else {
            self.complete = [:]
            self.previousJob = nil
            return
        }
        var complete: [String: String] = [:]
        for task in previous.tasks {
            guard let path = task.output else { continue }
            if task.status == .succeeded || (task.status == .skipped && task.error?.hasPrefix(Self.completePrefix) == true) {
                complete[task.input] = path
            }
        }
        self.complete = complete
        self.previousJob = previous.jobID
    }

    /// What a skipped-as-complete entry's reason starts with.
    static let completePrefix = "already complete"

    /// Removes from `pairs` (input, output) the images that do not run, and returns their
    /// receipt entries (status ``JobReceipt/Outcome/skipped``, with the reason).
    func filter(_ pairs: inout [(input: String, output: String)]) -> [JobReceipt.Task] {
        var skipped: [JobReceipt.Task] = []
        pairs.removeAll { pair in
            if let previous = self.complete[pair.input], previous == pair.output,
                (try? self.storage.exists(pair.output)) == true
            {
                let job = self.previousJob.map { " by job \($0)" } ?? ""
                skipped.append(
                    JobReceipt.Task(
                        input: pair.input, output: pair.output, status: .skipped,
                        error: "\(Self.completePrefix): output written\(job) with the same pipeline (use force to redo)"))
                return true
            }
            if let only = self.only, !only.contains(pair.input) {
                skipped.append(
                    JobReceipt.Task(input: pair.input, output: nil, status: .skipped, error: "not selected (only)"))
                return true
            }
            return false
        }
        return skipped
    }
}
