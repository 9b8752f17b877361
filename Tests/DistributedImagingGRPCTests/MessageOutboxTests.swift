@testable import DistributedImagingGRPC
import Testing

/// The queue behind a task stream's batches: what is queued while the writer is busy goes out
/// together, up to a bound, and nothing is lost or sent twice.
@Suite("Message outbox", .timeLimit(.minutes(1)))
struct MessageOutboxTests {
    @Test("Messages queued while nobody waits are handed over in one batch, in order")
    func batches() async {
        let outbox = MessageOutbox<Int>()
        for value in 1...5 { #expect(outbox.yield(value)) }
        #expect(await outbox.next() == [1, 2, 3, 4, 5])
        outbox.yield(6)
        #expect(await outbox.next() == [6])
    }

    @Test("A batch holds at most maximumBatch messages; the rest come next")
    func bounded() async {
        let outbox = MessageOutbox<Int>(maximumBatch: 3)
        for value in 1...7 { outbox.yield(value) }
        #expect(await outbox.next() == [1, 2, 3])
        #expect(await outbox.next() == [4, 5, 6])
        #expect(await outbox.next() == [7])
    }

    @Test("A waiting consumer gets the first message at once")
    func waiting() async {
        let outbox = MessageOutbox<Int>()
        async let batch = outbox.next()
        // Whether the consumer is already waiting or not, it gets exactly what was queued.
        outbox.yield(42)
        #expect(await batch == [42])
    }

    @Test("finish() drains what is queued, then ends; later messages are refused")
    func finish() async {
        let outbox = MessageOutbox<Int>()
        outbox.yield(1)
        outbox.yield(2)
        outbox.finish()
        #expect(!outbox.yield(3))
        #expect(await outbox.next() == [1, 2])
        #expect(await outbox.next() == nil)
    }

    @Test("finish() ends a waiting consumer")
    func finishWakes() async throws {
        let outbox = MessageOutbox<Int>()
        let consumer = Task { await outbox.next() }
        outbox.finish()
        #expect(await consumer.value == nil)
    }

    @Test("A cancelled consumer stops waiting; the outbox still works for the next one")
    func cancelled() async {
        let outbox = MessageOutbox<Int>()
        let consumer = Task { await outbox.next() }
        consumer.cancel()
        #expect(await consumer.value == nil)
        outbox.yield(7)
        #expect(await outbox.next() == [7])
    }

    @Test("Many producers: every message arrives exactly once")
    func concurrentProducers() async {
        let outbox = MessageOutbox<Int>(maximumBatch: 16)
        let received = Task {
            var all: [Int] = []
            while let batch = await outbox.next() {
                #expect(batch.count <= 16)
                all += batch
            }
            return all
        }
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<8 {
                group.addTask {
                    for index in 0..<250 { outbox.yield(producer * 1000 + index) }
                }
            }
        }
        outbox.finish()
        let all = await received.value
        #expect(all.count == 2000)
        #expect(Set(all).count == 2000)
    }
}
