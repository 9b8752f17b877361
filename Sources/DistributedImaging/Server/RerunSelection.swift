/// Decides which images of a job run again: the re-run rules of ``JobRequest/force`` and
/// ``JobRequest/only``.
///
/// An image is *complete* when the output directory's previous `receipt.json` has the same
/// canonical pipeline and lists the image with the same output path as succeeded (or as skipped
/// because it was already complete), and that output file exists. The output path carries the
/// format's extension, so a change of format re-runs; a change of JPEG quality alone does not
/// (use ``JobRequest/force``).
struct RerunSelection {
    /// The previous receipt's complete entries: input → (output, reason to skip it).
    private let complete: [String: (output: String, reason: String)]
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
            return
        }
        var complete: [String: (output: String, reason: String)] = [:]
        for task in previous.tasks {
            guard let path = task.output else { continue }
            if task.status == .succeeded {
                complete[task.input] = (path, "\(Self.completePrefix): output written by job \(previous.jobID) with the same pipeline")
            } else if task.status == .skipped, let reason = task.error, reason.hasPrefix(Self.completePrefix) {
                complete[task.input] = (path, reason)
            }
        }
        self.complete = complete
    }

    /// What a skipped-as-complete entry's reason starts with.
    static let completePrefix = "already complete"

    /// Removes from `pairs` (input, output) the images that do not run, and returns their
    /// receipt entries (status ``JobReceipt/Outcome/skipped``, with the reason).
    func filter(_ pairs: inout [(input: String, output: String)]) -> [JobReceipt.Task] {
        var skipped: [JobReceipt.Task] = []
        pairs.removeAll { pair in
            if let previous = self.complete[pair.input], previous.output == pair.output,
                (try? self.storage.exists(pair.output)) == true
            {
                skipped.append(JobReceipt.Task(input: pair.input, output: pair.output, status: .skipped, error: previous.reason))
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
