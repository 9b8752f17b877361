import Testing

@testable import DistributedImaging

@Suite("DistributedImagingError")
struct ErrorTests {
    @Test("Every code comes back from its name; an unknown name gives nil")
    func codesByName() {
        #expect(DistributedImagingError.Code.allCases.count == 15)
        for code in DistributedImagingError.Code.allCases {
            #expect(DistributedImagingError.Code(code.description) == code)
        }
        #expect(DistributedImagingError.Code("rejected") == nil)
        #expect(DistributedImagingError.Code("") == nil)
    }

    @Test("The description has the code and the cause; equality ignores the cause")
    func descriptionAndCause() {
        struct Underlying: Error, CustomStringConvertible {
            var description: String { "disk on fire" }
        }
        let error = DistributedImagingError(code: .io, message: "cannot write 'a.png'", cause: Underlying())
        #expect(error.description == "io: cannot write 'a.png' (cause: disk on fire)")
        #expect(error.cause is Underlying)
        #expect(error == DistributedImagingError(code: .io, message: "cannot write 'a.png'"))
        #expect(DistributedImagingError.message(of: error) == "cannot write 'a.png'")
        #expect(DistributedImagingError.message(of: Underlying()) == "disk on fire")
    }
}
