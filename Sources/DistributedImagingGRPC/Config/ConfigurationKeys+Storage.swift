import DistributedImaging

/// Opens the storage root a section names.
func openStorage(_ root: String?, key: String) throws -> SharedStorage {
    guard let root, !root.isEmpty else {
        throw DistributedImagingError(code: .invalidConfiguration, message: "\(key): required, not set")
    }
    do {
        return try SharedStorage(root: root)
    } catch let error as DistributedImagingError {
        throw DistributedImagingError(code: .invalidConfiguration, message: "\(key): \(error.message)")
    }
}
