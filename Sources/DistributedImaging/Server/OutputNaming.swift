/// How the server names outputs: `<stem>.<ext>` beside the input's sub-path; inputs that share a
/// stem in one directory (`a.jpg`, `a.png`) keep their full names (`a.jpg.png`, `a.png.png`).
enum OutputNaming {
    /// Output names, relative to the output directory, one per input (relative to the input
    /// directory), in the same order. The result has no duplicates.
    static func names(for inputs: [String], fileExtension: String) -> [String] {
        func stem(_ path: String) -> String {
            let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
            guard let dot = path[slash...].lastIndex(of: "."), dot > slash else { return path }
            return String(path[..<dot])
        }
        var names = inputs.map { "\(stem($0)).\(fileExtension)" }
        var counts: [String: Int] = [:]
        for name in names { counts[name, default: 0] += 1 }
        for index in names.indices where counts[names[index], default: 0] > 1 {
            names[index] = "\(inputs[index]).\(fileExtension)"
        }
        // A full name may still meet another input's stem name (`a.jpg` + `a.png` + `a.jpg.png`):
        // number what is left, keeping the first.
        var seen: Set<String> = []
        for index in names.indices {
            var name = names[index]
            var number = 2
            while seen.contains(name) {
                name = "\(stem(names[index]))~\(number).\(fileExtension)"
                number += 1
            }
            seen.insert(name)
            names[index] = name
        }
        return names
    }

    /// Whether a file name has an image extension: `.png`, `.jpg` or `.jpeg`, any case.
    static func isImage(_ path: String) -> Bool {
        let name = path.split(separator: "/").last.map { $0.lowercased() } ?? ""
        return name.hasSuffix(".png") || name.hasSuffix(".jpg") || name.hasSuffix(".jpeg")
    }

    /// `directory/name`, or `name` when `directory` is the root (`.`).
    static func join(_ directory: String, _ name: String) -> String {
        directory == "." ? name : "\(directory)/\(name)"
    }
}
