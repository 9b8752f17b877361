import Foundation
import Testing

@testable import DistributedImaging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every directory entry is accounted for: names that are not UTF-8, paths past PATH_MAX,
/// symbolic links to directories and directories that cannot be listed each land in the receipt
/// with a true reason, so the receipt's counts add up to the entries.
@Suite("Listing accounts for every entry")
struct ListingAccountingTests {
    static let nodes = [NodeConfiguration(name: "n1", policy: .mandatory, load: 0, delay: 0)]
    /// A 200-byte directory name: 21 of them nest past PATH_MAX.
    static let longName = String(repeating: "a", count: 200)

    /// Creates `name` (raw bytes) in `directory`: a directory, or an empty file.
    static func create(_ name: [UInt8], in directory: String, directory isDirectory: Bool) throws {
        let path = (Array(directory.utf8) + [UInt8(ascii: "/")] + name + [0]).map { CChar(bitPattern: $0) }
        if isDirectory {
            try #require(mkdir(path, 0o755) == 0)
        } else {
            let descriptor = open(path, O_CREAT | O_WRONLY, 0o644)
            try #require(descriptor >= 0)
            close(descriptor)
        }
    }

    /// Nests `levels` directories named ``longName`` under `directory`, with `x.png` at the bottom,
    /// through `mkdirat`/`openat` (no path past PATH_MAX is ever passed to the system).
    static func nest(levels: Int, under directory: String) throws {
        var descriptor = open(directory, O_RDONLY | O_DIRECTORY)
        try #require(descriptor >= 0)
        for _ in 0..<levels {
            try #require(mkdirat(descriptor, Self.longName, 0o755) == 0)
            let next = openat(descriptor, Self.longName, O_RDONLY | O_DIRECTORY)
            close(descriptor)
            try #require(next >= 0)
            descriptor = next
        }
        let file = openat(descriptor, "x.png", O_CREAT | O_WRONLY, 0o644)
        close(descriptor)
        try #require(file >= 0)
        close(file)
    }

    /// Removes `name` in the directory `parent` and everything below, by descriptors.
    static func removeTree(_ parent: Int32, _ name: String) {
        let descriptor = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        if descriptor >= 0, let directory = fdopendir(descriptor) {
            var children: [(name: String, isDirectory: Bool)] = []
            while let entry = readdir(directory) {
                let child = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if child != "." && child != ".." { children.append((child, Int(entry.pointee.d_type) == Int(DT_DIR))) }
            }
            for child in children {
                if child.isDirectory { Self.removeTree(descriptor, child.name) } else { unlinkat(descriptor, child.name, 0) }
            }
            closedir(directory)
        }
        unlinkat(parent, name, AT_REMOVEDIR)
    }

    /// `in/` with 3 images, a text file, a file and a directory whose names are not UTF-8, a
    /// sub-directory with an image, a symlink to it, and `deep/` nested past PATH_MAX.
    static func writeTree(_ root: String) throws {
        try TestImages.writePNGs(count: 3, into: "\(root)/in")
        try TestImages.write(text: "notes", to: "\(root)/in/notes.txt")
        try Self.create([0xFF, 0x2E, 0x70, 0x6E, 0x67], in: "\(root)/in", directory: false)  // "\xff.png"
        try Self.create([0x64, 0xFE], in: "\(root)/in", directory: true)  // "d\xfe"
        try TestImages.writePNGs(count: 1, into: "\(root)/in/sub")
        try FileManager.default.createSymbolicLink(atPath: "\(root)/in/link", withDestinationPath: "\(root)/in/sub")
        try FileManager.default.createDirectory(atPath: "\(root)/in/deep", withIntermediateDirectories: true)
        try Self.nest(levels: 21, under: "\(root)/in/deep")
    }

    static func withTree<T>(_ body: (String) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { root in
            defer {
                let input = open("\(root)/in", O_RDONLY | O_DIRECTORY)
                if input >= 0 {
                    Self.removeTree(input, "deep")
                    close(input)
                }
            }
            try Self.writeTree(root)
            return try await body(root)
        }
    }

    static func reason(_ receipt: JobReceipt, _ input: String) -> String? {
        receipt.tasks.first { $0.input == input }?.error
    }

    @Test("Recursive: every entry is in the receipt with a true reason; the counts add up")
    func recursive() async throws {
        try await Self.withTree { root in
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert", recursive: true))
            // 3 images, notes.txt, \xff.png, d\xfe, sub/img-0000.png, link, and the deep directory past PATH_MAX.
            #expect(receipt.tasks.count == 9, "\(receipt.tasks.map(\.input))")
            let counts = receipt.counts
            #expect(counts.total == 9)
            #expect(counts.succeeded + counts.failed + counts.skipped + counts.cancelled == counts.total)
            #expect(counts.succeeded == 4)
            #expect(counts.skipped == 5)
            #expect(receipt.status == .succeeded)
            #expect(Self.reason(receipt, "in/\\xff.png")?.contains("not valid UTF-8") == true)
            #expect(Self.reason(receipt, "in/d\\xfe")?.contains("not valid UTF-8") == true)
            #expect(Self.reason(receipt, "in/link") == "symbolic link to a directory: not followed")
            let deep = try #require(receipt.tasks.first { $0.input.hasPrefix("in/deep/") })
            #expect(deep.status == .skipped)
            #expect(deep.error?.contains("longer than PATH_MAX") == true, "\(deep.error ?? "")")
            #expect(try Data(contentsOf: URL(fileURLWithPath: "\(root)/in-out/sub/img-0000.png")).count > 0)
            // The receipt on disk says the same.
            let onDisk = try JobReceipt.decodeJSON(
                Array(try Data(contentsOf: URL(fileURLWithPath: "\(root)/in-out/receipt.json"))), source: "receipt.json")
            #expect(onDisk == receipt)
        }
    }

    @Test("Not recursive: sub-directories, the symlink and odd names are each listed")
    func flat() async throws {
        try await Self.withTree { root in
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert"))
            // 3 images, notes.txt, \xff.png, d\xfe, sub, link, deep.
            #expect(receipt.counts.total == 9, "\(receipt.tasks.map(\.input))")
            #expect(receipt.counts.succeeded == 3)
            #expect(Self.reason(receipt, "in/link") == "symbolic link to a directory: not followed")
            #expect(Self.reason(receipt, "in/sub") == "a directory; submit with recursive to descend")
            #expect(Self.reason(receipt, "in/\\xff.png")?.contains("not valid UTF-8") == true)
        }
    }

    @Test("A directory that cannot be listed is a failed entry with the system's reason; the job fails")
    func unlistable() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 2, into: "\(root)/in")
            try TestImages.writePNGs(count: 2, into: "\(root)/in/locked")
            var storage = try SharedStorage(root: root)
            storage.unlistableDirectories = ["\(storage.resolvedRoot)/in/locked"]
            let listing = try storage.list("in", recursive: true)
            #expect(listing.files == ["img-0000.png", "img-0001.png"])
            #expect(listing.unusable == [.init(path: "locked", reason: "cannot list this directory: Permission denied (injected)", failed: true)])

            let server = try ImagingServer(storage: storage, nodes: [ScriptedConnection.accepting("n")], logger: silentLogger)
            let receipt = try await server.submit(JobRequest(inputDirectory: "in", pipeline: "identity", recursive: true))
            #expect(receipt.status == .failed)
            #expect(receipt.counts.total == 3)
            #expect(receipt.counts.succeeded == 2)
            #expect(receipt.counts.failed == 1)
            #expect(receipt.tasks.first { $0.status == .failed }?.input == "in/locked")
            #expect(receipt.message.contains("could not be listed"), "\(receipt.message)")

            // The listed directory itself: the job fails with the reason, no task runs.
            storage.unlistableDirectories = ["\(storage.resolvedRoot)/in"]
            let whole = try await ImagingServer(storage: storage, nodes: [ScriptedConnection.accepting("n")], logger: silentLogger)
                .submit(JobRequest(inputDirectory: "in", pipeline: "identity"))
            #expect(whole.status == .failed)
            #expect(whole.message.contains("Permission denied"), "\(whole.message)")
        }
    }

    @Test(
        "A directory without read permission is a failed entry (real permissions)",
        .enabled(if: getuid() != 0, "root reads any directory; the injected-failure test covers the same path as root"))
    func unreadableForReal() async throws {
        try await withTemporaryDirectory { root in
            try TestImages.writePNGs(count: 1, into: "\(root)/in")
            try TestImages.writePNGs(count: 1, into: "\(root)/in/locked")
            try #require(chmod("\(root)/in/locked", 0) == 0)
            defer { chmod("\(root)/in/locked", 0o755) }
            let cluster = try LocalCluster(storageRoot: root, nodes: Self.nodes, seed: 1)
            let receipt = try await cluster.submit(JobRequest(inputDirectory: "in", pipeline: "invert", recursive: true))
            #expect(receipt.status == .failed)
            #expect(receipt.counts.total == 2)
            #expect(Self.reason(receipt, "in/locked")?.contains("Permission denied") == true)
        }
    }

    @Test("Escaped names keep valid UTF-8 and write each other byte as \\xNN")
    func escaping() {
        #expect(POSIX.escaped(Array("é.png".utf8)) == "é.png")
        #expect(POSIX.escaped([0xFF, 0x61]) == "\\xff" + "a")
        #expect(POSIX.escaped([0xC3]) == "\\xc3")
        #expect(POSIX.escaped([0x0A]) == "\n")
    }
}
