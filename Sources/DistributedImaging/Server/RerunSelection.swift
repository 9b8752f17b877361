/// Decides which images of a job run again: the re-run rules of ``JobRequest/force`` and
/// ``JobRequest/only``.
///
/// An image is *complete* when the output directory's previous `receipt.json` has the same
/// canonical pipeline and lists the image with the same output path as succeeded (or as skipped
/// because it was already complete), with the input's size and modification time and the
/// output's size; the input still has that size and modification time (it was not edited
/// since), and the output exists with that size (it was not truncated, by a crash say). Entries
/// without those values (receipts written before they were recorded) are not complete. The
/// output path carries the format's extension, so a change of format re-runs; a change of JPEG
/// quality alone does not (use ``JobRequest/force``).
struct RerunSelection {
    /// The previous receipt's complete entries, by input path, with the reason to skip them.
    private let complete: [String: (task: JobReceipt.Task, reason: String)]
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
        var complete: [String: (task: JobReceipt.Task, reason: String)] = [:]
        for task in previous.tasks where task.output != nil {
            if task.status == .succeeded {
                complete[task.input] = (task, "\(Self.completePrefix): output written by job \(previous.jobID) with the same pipeline")
            } else if task.status == .skipped, let reason = task.error, reason.hasPrefix(Self.completePrefix) {
                complete[task.input] = (task, reason)
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
            if let previous = self.complete[pair.input], self.isComplete(previous.task, output: pair.output) {
                skipped.append(
                    JobReceipt.Task(
                        input: pair.input, output: pair.output, status: .skipped, error: previous.reason,
                        inputSize: previous.task.inputSize, inputModifiedNanoseconds: previous.task.inputModifiedNanoseconds,
                        outputSize: previous.task.outputSize))
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

    /// Whether `previous` still describes the files: the same output path, the input unchanged
    /// (size and modification time) and the output present with the recorded size.
    private func isComplete(_ previous: JobReceipt.Task, output: String) -> Bool {
        guard previous.output == output, let inputSize = previous.inputSize,
            let inputModified = previous.inputModifiedNanoseconds, let outputSize = previous.outputSize,
            let input = (try? self.storage.status(previous.input)) ?? nil,
            let written = (try? self.storage.status(output)) ?? nil
        else { return false }
        return input.size == inputSize && input.modifiedNanoseconds == inputModified && written.size == outputSize
    }
}
