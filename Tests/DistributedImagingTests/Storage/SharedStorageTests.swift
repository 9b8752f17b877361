import Foundation
import Testing

@testable import DistributedImaging

@Suite("SharedStorage")
struct SharedStorageTests {
    @Test("Relative and absolute paths inside the root resolve and become relative")
    func insidePaths() async throws {
        try await withTemporaryDirectory { root in
            try FileManager.default.createDirectory(atPath: "\(root)/photos", withIntermediateDirectories: true)
            let storage = try SharedStorage(root: root)
            #expect(try storage.relativePath("photos") == "photos")
            #expect(try storage.relativePath("\(root)/photos") == "photos")
            #expect(try storage.relativePath("\(root)/photos/../photos/./new/x.png") == "photos/new/x.png")
            #expect(try storage.relativePath(root) == ".")
            #expect(try storage.resolve("photos/a.png") == "\(root)/photos/a.png")
        }
    }

    @Test("'..' escapes are refused", arguments: ["..", "../x", "photos/../../x", "a/b/../../../etc/passwd"])
    func dotDotEscape(path: String) async throws {
        try await withTemporaryDirectory { root in
            try FileManager.default.createDirectory(atPath: "\(root)/photos", withIntermediateDirectories: true)
            let storage = try SharedStorage(root: root)
            let error = #expect(throws: DistributedImagingError.self) { try storage.resolve(path) }
            #expect(error?.code == .pathOutsideStorageRoot)
            #expect(throws: DistributedImagingError.self) { try storage.write([1, 2, 3], to: path) }
        }
    }

    @Test("Absolute paths outside the root are refused")
    func absoluteOutside() async throws {
        try await withTemporaryDirectory { base in
            try FileManager.default.createDirectory(atPath: "\(base)/root", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: "\(base)/rootish", withIntermediateDirectories: true)
            let storage = try SharedStorage(root: "\(base)/root")
            for path in ["/etc/passwd", "\(base)/rootish/x.png", base] {
                let error = #expect(throws: DistributedImagingError.self) { try storage.relativePath(path) }
                #expect(error?.code == .pathOutsideStorageRoot)
                #expect(error?.message.contains(path) == true)
            }
        }
    }

    @Test("Symlinks out of the root are refused for reading, writing and listing")
    func symlinkEscape() async throws {
        try await withTemporaryDirectory { base in
            let fileManager = FileManager.default
            try fileManager.createDirectory(atPath: "\(base)/root/photos", withIntermediateDirectories: true)
            try fileManager.createDirectory(atPath: "\(base)/secret", withIntermediateDirectories: true)
            try TestImages.write(text: "secret", to: "\(base)/secret/key.png")
            try fileManager.createSymbolicLink(atPath: "\(base)/root/photos/link.png", withDestinationPath: "\(base)/secret/key.png")
            try fileManager.createSymbolicLink(atPath: "\(base)/root/out", withDestinationPath: "\(base)/secret")
            try fileManager.createSymbolicLink(atPath: "\(base)/root/inside", withDestinationPath: "\(base)/root/photos")
            let storage = try SharedStorage(root: "\(base)/root")

            #expect(throws: DistributedImagingError.self) { try storage.read("photos/link.png") }
            let error = #expect(throws: DistributedImagingError.self) { try storage.write([1], to: "out/new.png") }
            #expect(error?.code == .pathOutsideStorageRoot)
            #expect(!fileManager.fileExists(atPath: "\(base)/secret/new.png"))
            #expect(throws: DistributedImagingError.self) { try storage.list("out", recursive: false) }
            // A link that stays inside is fine.
            #expect(try storage.relativePath("inside/a.png") == "photos/a.png")
        }
    }

    @Test("Resolution follows links as realpath(3) does, and again after '..' leaves a missing directory")
    func resolutionAgreesWithRealpath() async throws {
        try await withTemporaryDirectory { base in
            let files = FileManager.default
            let root = "\(base)/root"
            try files.createDirectory(atPath: "\(root)/a/b", withIntermediateDirectories: true)
            try files.createDirectory(atPath: "\(base)/outside", withIntermediateDirectories: true)
            try files.createSymbolicLink(atPath: "\(root)/rel", withDestinationPath: "a/b")  // relative target
            try files.createSymbolicLink(atPath: "\(root)/a/up", withDestinationPath: "../a")  // '..' in a target
            try files.createSymbolicLink(atPath: "\(root)/abs", withDestinationPath: "\(root)/a")  // absolute target
            try files.createSymbolicLink(atPath: "\(root)/out", withDestinationPath: "\(base)/outside")
            try files.createSymbolicLink(atPath: "\(root)/loop", withDestinationPath: "loop")
            let storage = try SharedStorage(root: root)
            let real = storage.resolvedRoot
            // Existing paths: exactly what realpath(3) says.
            for path in ["rel", "a/up/b", "abs/b", "rel/../b", "a/./b/"] {
                #expect(try storage.resolve(path) == POSIX.realPath("\(root)/\(path)"), "\(path)")
            }
            // Missing tails are applied lexically after the real prefix.
            #expect(try storage.resolve("rel/new/x.png") == "\(real)/a/b/new/x.png")
            #expect(try storage.resolve("abs/new/../b") == "\(real)/a/b")
            // Leaving a missing directory with '..' checks components again: the link is followed.
            for path in ["missing/../out/x.png", "a/missing/deeper/../../../out", "out"] {
                let error = #expect(throws: DistributedImagingError.self, "\(path)") { try storage.resolve(path) }
                #expect(error?.code == .pathOutsideStorageRoot, "\(path)")
            }
            let loop = #expect(throws: DistributedImagingError.self) { try storage.resolve("loop/x") }
            #expect(loop?.message.contains("too many levels of symbolic links") == true, "\(String(describing: loop))")
        }
    }

    @Test("Writes are atomic: whole old or whole new content, no temporary files left")
    func atomicWrite() async throws {
        try await withTemporaryDirectory { root in
            let storage = try SharedStorage(root: root)
            let first = [UInt8](repeating: 0xAA, count: 1 << 20)
            let second = [UInt8](repeating: 0x55, count: 1 << 20)
            try storage.write(first, to: "out/sub/image.png")
            #expect(try storage.read("out/sub/image.png") == first)

            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for index in 0..<100 { try? storage.write(index.isMultiple(of: 2) ? second : first, to: "out/sub/image.png") }
                }
                group.addTask {
                    for _ in 0..<200 {
                        let bytes = (try? storage.read("out/sub/image.png")) ?? []
                        #expect(bytes == first || bytes == second)
                    }
                }
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(root)/out/sub") == ["image.png"])
        }
    }

    @Test("Listing: files sorted; sub-directories skipped or descended")
    func listing() async throws {
        try await withTemporaryDirectory { root in
            try FileManager.default.createDirectory(atPath: "\(root)/in/sub/deeper", withIntermediateDirectories: true)
            for path in ["in/b.png", "in/a.JPG", "in/notes.txt", "in/sub/c.jpeg", "in/sub/deeper/d.png"] {
                try TestImages.write(text: "x", to: "\(root)/\(path)")
            }
            let storage = try SharedStorage(root: root)
            let flat = try storage.list("in", recursive: false)
            #expect(flat.files == ["a.JPG", "b.png", "notes.txt"])
            #expect(flat.directories == ["sub"])
            let deep = try storage.list("in", recursive: true)
            #expect(deep.files == ["a.JPG", "b.png", "notes.txt", "sub/c.jpeg", "sub/deeper/d.png"])
            #expect(deep.directories.isEmpty)
            let missing = #expect(throws: DistributedImagingError.self) { try storage.list("nope", recursive: false) }
            #expect(missing?.code == .notFound)
        }
    }

    @Test("A missing root is refused")
    func missingRoot() {
        #expect(throws: DistributedImagingError.self) { try SharedStorage(root: "/definitely/not/here") }
    }
}
