import Foundation

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

extension JobRequest {
    /// What re-running a receipt file's failures takes: the request, the receipt, and the storage
    /// root its paths are relative to.
    public struct Rerun: Sendable {
        /// The failures of the receipt (``JobRequest/init(rerunningFailuresOf:outputFormat:)``),
        /// paths relative to the storage root.
        public var request: JobRequest
        /// The receipt read.
        public var receipt: JobReceipt
        /// The storage root, guessed from where the receipt lies
        /// (``JobReceipt/storageRoot(receiptDirectory:)``).
        public var storageRoot: String

        /// Reads the receipt at `path` (`--only-failed RECEIPT`).
        ///
        /// - Parameters:
        ///   - path: The receipt file's absolute path.
        ///   - name: How to name the file in errors (as the user gave it).
        ///   - outputFormat: The format; by default as the receipt's outputs have it.
        /// - Throws: ``DistributedImagingError`` with code `invalidArgument` naming the file when it
        ///   cannot be read or is not a receipt.
        public init(receiptAt path: String, named name: String, outputFormat: OutputFormat? = nil) throws {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DistributedImagingError(code: .invalidArgument, message: "--only-failed: cannot read '\(name)'")
            }
            self.receipt = try JobReceipt.decodeJSON(Array(data), source: name)
            self.request = JobRequest(rerunningFailuresOf: self.receipt, outputFormat: outputFormat)
            self.storageRoot = self.receipt.storageRoot(receiptDirectory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        }

        /// ``request`` with absolute paths under ``storageRoot``, for a server whose storage root
        /// may differ (an embedded cluster rooted elsewhere).
        public var absoluteRequest: JobRequest {
            var request = self.request
            request.inputDirectory = URL(fileURLWithPath: self.storageRoot + "/" + request.inputDirectory).standardizedFileURL.path
            request.outputDirectory = self.storageRoot + "/" + (request.outputDirectory ?? "")
            return request
        }

        /// What a client says before re-running: the tasks, job, input, output and pipeline; or,
        /// when the receipt lists no failures, that there is nothing to re-run (`nil` ``request``
        /// ``JobRequest/only``).
        ///
        /// - Parameter name: How to name the receipt file.
        public func announcement(named name: String) -> String {
            let count = self.request.only?.count ?? 0
            guard count > 0 else {
                return "nothing to re-run: \(name) (job \(self.receipt.jobID), \(self.receipt.status)) lists no failed tasks"
            }
            return "re-running \(count) failed task\(count == 1 ? "" : "s") of job \(self.receipt.jobID) "
                + "(\(self.receipt.input) → \(self.receipt.output), pipeline '\(self.receipt.pipeline)')"
        }
    }
}

extension JobReceipt {
    /// The storage root this receipt's paths are relative to, found from the directory the
    /// receipt file lies in: the server writes it to `<root>/<output>/receipt.json`. A receipt
    /// moved elsewhere is taken to lie one level below the root.
    ///
    /// - Parameter directory: The absolute path of the directory holding the receipt file.
    public func storageRoot(receiptDirectory directory: String) -> String {
        let root: String
        if self.output == "." {
            root = directory
        } else if directory.hasSuffix("/" + self.output) {
            root = String(directory.dropLast(self.output.count + 1))
        } else {
            root = URL(fileURLWithPath: directory).deletingLastPathComponent().path
        }
        return root.isEmpty ? "/" : root
    }
}
