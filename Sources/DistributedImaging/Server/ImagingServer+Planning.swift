import Foundation
import Logging

extension ImagingServer {
    /// What ``prepare(_:plan:jobID:)`` found.
    enum Preparation: Sendable {
        /// The input cannot be listed: the job fails with this message.
        case unlistable(String)
        case ready(Prepared)
    }

    /// A listed job: the tasks to run and the entries that are not run.
    struct Prepared: Sendable {
        var tasks: [TaskRequest]
        var skipped: [JobReceipt.Task]
        /// Images in the input (run or skipped).
        var images: Int
        /// Entries that could not be listed (failed, in `skipped`).
        var unlisted: Int
    }

    /// Lists the input and makes the job's tasks: file work, run on the thread pool.
    ///
    /// - Throws: as ``start(_:)`` for a job refused as a whole.
    func prepare(_ request: JobRequest, plan: JobPaths, jobID: JobID) throws -> Preparation {
        let listing: SharedStorage.Listing
        do {
            listing = try self.storage.list(plan.input, recursive: request.recursive)
        } catch let error as DistributedImagingError where error.code == .notFound {
            return .unlistable("input directory '\(plan.input)' does not exist")
        } catch let error as DistributedImagingError where error.code == .invalidArgument || error.code == .io {
            return .unlistable(error.message)
        }

        let images = listing.files.filter(OutputNaming.isImage)
        guard images.count <= self.configuration.maxImagesPerJob else {
            throw DistributedImagingError.invalidArgument(
                "'\(plan.input)' holds \(images.count) images, more than this server's limit of "
                    + "\(self.configuration.maxImagesPerJob) per job (server.maxImagesPerJob); split the job")
        }
        var skipped = listing.files.filter { !OutputNaming.isImage($0) }.map { name in
            JobReceipt.Task(
                input: OutputNaming.join(plan.input, name), output: nil, status: .skipped,
                error: "not a .png, .jpg or .jpeg file")
        }
        // Real directories only: the listing reports symbolic links to directories as unusable.
        skipped += listing.directories.map { name in
            JobReceipt.Task(
                input: OutputNaming.join(plan.input, name), output: nil, status: .skipped,
                error: "a directory; submit with recursive to descend")
        }
        // Not UTF-8, past PATH_MAX, a symlink to a directory, unreadable: listed, never dropped.
        let unusable = listing.unusable.map { entry in
            JobReceipt.Task(
                input: OutputNaming.join(plan.input, entry.path), output: nil, status: entry.failed ? .failed : .skipped,
                error: entry.reason)
        }
        skipped += unusable
        let outputs = OutputNaming.names(for: images, fileExtension: request.outputFormat.fileExtension)
        var pairs = zip(images, outputs).map { (input: OutputNaming.join(plan.input, $0.0), output: OutputNaming.join(plan.output, $0.1)) }
        try self.checkNoOutputTouchesAnInput(pairs, plan: plan)
        skipped += RerunSelection(request: request, output: plan.output, pipeline: plan.pipeline, storage: self.storage)
            .filter(&pairs)
        let tasks = pairs.enumerated().map { index, paths in
            TaskRequest(
                jobID: jobID, taskIndex: index, inputPath: paths.input, outputPath: paths.output, pipeline: plan.pipeline,
                outputFormat: request.outputFormat)
        }
        let unlisted = unusable.filter { $0.status == .failed }.count
        return .ready(Prepared(tasks: tasks, skipped: skipped, images: images.count, unlisted: unlisted))
    }
}

/// A job's directories and canonical pipeline, resolved.
struct JobPaths: Sendable {
    var input: String
    var output: String
    var pipeline: String
}

extension ImagingServer {
    /// Resolves a request's directories and pipeline.
    ///
    /// - Throws: as ``start(_:)`` for a job refused as a whole.
    func plan(_ request: JobRequest) throws -> JobPaths {
        try request.outputFormat.validate()
        let pipeline = try Pipeline(parsing: request.pipeline, registry: self.registry).description
        let input = try self.storage.relativePath(request.inputDirectory)
        let output: String
        if let requested = request.outputDirectory {
            output = try self.storage.relativePath(requested)
        } else {
            guard input != "." else {
                throw DistributedImagingError.invalidArgument(
                    "the input is the storage root itself; name an output directory (the default '<input>-out' would be outside the root)")
            }
            output = try self.storage.relativePath(input + "-out")
        }
        // Both are real paths (symlinks resolved), so a prefix test sees every overlap.
        if Self.overlaps(input, output) {
            throw DistributedImagingError.invalidArgument(
                "output directory '\(output)' and input directory '\(input)' overlap (one is equal to or inside "
                    + "the other, after resolving symbolic links); choose an output outside the input")
        }
        return JobPaths(input: input, output: output, pipeline: pipeline)
    }

    /// Whether two resolved relative paths (`.` for the root) are equal or one is inside the other.
    static func overlaps(_ a: String, _ b: String) -> Bool {
        a == "." || b == "." || a == b || a.hasPrefix(b + "/") || b.hasPrefix(a + "/")
    }

    /// Refuses the job when a symbolic link inside the input or output directory would make an
    /// output land inside the input directory, or an input live inside the output directory:
    /// a task would then write over an input.
    ///
    /// - Throws: ``DistributedImagingError`` with code `invalidArgument` naming the file.
    private func checkNoOutputTouchesAnInput(_ pairs: [(input: String, output: String)], plan: JobPaths) throws {
        // A path that a symbolic link takes out of the storage root is not refused here: its
        // task fails on its own (the node refuses it), and the rest of the job runs.
        func relative(_ path: String) throws -> String? {
            do {
                return try self.storage.relativePath(path)
            } catch let error as DistributedImagingError where error.code == .pathOutsideStorageRoot {
                return nil
            }
        }
        for pair in pairs {
            if let output = try relative(pair.output), Self.overlaps(output, plan.input) {
                throw DistributedImagingError.invalidArgument(
                    "output '\(pair.output)' resolves to '\(output)', inside the input directory '\(plan.input)' "
                        + "(a symbolic link); it would overwrite an input")
            }
            if let input = try relative(pair.input), Self.overlaps(input, plan.output) {
                throw DistributedImagingError.invalidArgument(
                    "input '\(pair.input)' resolves to '\(input)', inside the output directory '\(plan.output)' "
                        + "(a symbolic link); the job could overwrite it")
            }
        }
    }

}
