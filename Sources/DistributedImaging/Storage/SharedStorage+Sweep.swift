import Foundation

extension SharedStorage {
    /// Whether `name` is one of the temporary files ``write(_:to:)`` creates
    /// (`.<output name>.<pid>-<n>-<random>.tmp`).
    static func isTemporaryName(_ name: String) -> Bool {
        name.hasPrefix(".") && name.hasSuffix(".tmp") && name.count > 5
    }

    /// Removes the temporary files that writes left in `directory` and below — orphans of
    /// attempts whose process died between writing and renaming.
    ///
    /// Call it only when no write into `directory` can be in progress that should succeed (the
    /// server does at the end of a job: every task has answered by then). A write still under way
    /// elsewhere — a stalled node waking up — loses its temporary file and fails its rename, so
    /// the output it would have replaced stays as it is.
    ///
    /// - Returns: The number of files removed; a missing directory sweeps nothing.
    @discardableResult
    public func sweepTemporaryFiles(in directory: String) -> Int {
        guard let resolved = try? self.resolve(directory) else { return 0 }
        return Self.sweep(resolved, depth: 0)
    }

    private static func sweep(_ absolute: String, depth: Int) -> Int {
        guard depth < 64, let names = try? POSIX.directoryEntries(absolute) else { return 0 }
        var removed = 0
        for name in names.compactMap(\.name) {
            let path = absolute + "/" + name
            switch POSIX.kind(of: path) {
            case .directory:
                removed += Self.sweep(path, depth: depth + 1)
            case .regular where Self.isTemporaryName(name):
                POSIX.remove(path)
                removed += 1
            default:
                continue
            }
        }
        return removed
    }
}

extension SharedStorage {
    /// `path` made absolute against the current directory and standardized (`.` and `..`
    /// removed), as a command line names paths.
    public static func absolutePath(_ path: String) -> String {
        URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true))
            .standardizedFileURL.path
    }
}
