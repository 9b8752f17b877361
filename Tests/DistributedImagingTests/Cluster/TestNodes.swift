import Synchronization

@testable import DistributedImaging

/// A node double: answers from a closure, counting the calls.
final class ScriptedConnection: NodeConnection {
    let node: NodeID
    let calls = Atomic<Int>(0)
    let answer: @Sendable (TaskRequest, Int) throws -> TaskStatus

    init(_ name: String, answer: @escaping @Sendable (TaskRequest, Int) throws -> TaskStatus) {
        self.node = NodeID(name)
        self.answer = answer
    }

    func run(_ task: TaskRequest) async throws -> TaskReceipt {
        let call = self.calls.add(1, ordering: .relaxed).newValue
        let status = try self.answer(task, call)
        return TaskReceipt(for: task, status: status, node: self.node, error: status == .succeeded ? nil : "scripted \(status)")
    }
}

extension ScriptedConnection {
    static func rejecting(_ name: String) -> ScriptedConnection { ScriptedConnection(name) { _, _ in .rejected } }
    static func accepting(_ name: String) -> ScriptedConnection { ScriptedConnection(name) { _, _ in .succeeded } }
}

/// Collects events in order.
final class EventLog: Sendable {
    private let storage = Mutex<[JobEvent]>([])
    var events: [JobEvent] { self.storage.withLock { $0 } }
    func record(_ event: JobEvent) { self.storage.withLock { $0.append(event) } }
}
