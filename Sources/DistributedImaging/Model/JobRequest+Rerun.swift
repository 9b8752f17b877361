extension JobRequest {
    /// A request that re-runs the failed (and cancelled) tasks of `receipt`: same input, output
    /// and canonical pipeline, ``only`` set to those inputs. Paths stay relative to the storage
    /// root, as the receipt has them.
    ///
    /// - Parameters:
    ///   - receipt: A previous job's receipt (its `receipt.json` or `--json` output).
    ///   - outputFormat: The format; by default PNG or JPEG by the receipt's output names.
    public init(rerunningFailuresOf receipt: JobReceipt, outputFormat: OutputFormat? = nil) {
        let failed = receipt.tasks.filter { $0.status == .failed || $0.status == .cancelled }
        let jpeg = receipt.tasks.contains { task in
            guard let output = task.output?.lowercased() else { return false }
            return output.hasSuffix(".jpg") || output.hasSuffix(".jpeg")
        }
        self.init(
            inputDirectory: receipt.input, outputDirectory: receipt.output, pipeline: receipt.pipeline,
            outputFormat: outputFormat ?? (jpeg ? .jpeg() : .png), recursive: receipt.tasks.contains { task in
                task.input.dropFirst(receipt.input == "." ? 0 : receipt.input.count + 1).contains("/")
            }, only: failed.map(\.input))
    }
}
