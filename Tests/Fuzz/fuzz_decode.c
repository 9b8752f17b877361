// libFuzzer harness for CImageCodec: decode arbitrary bytes, and when they decode, encode the
// pixels as PNG and JPEG and decode those again. Build and run with scripts/fuzz-codec.sh.
#include "CImageCodec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char message[CImageCodec_MESSAGE_SIZE];
    // A small pixel limit keeps each execution fast and bounded in memory.
    CImageCodec_DecodeOptions options = {.max_pixels = 4u << 20, .keep_alpha = (size & 1), .apply_orientation = 1};
    CImageCodec_Image image;
    if (CImageCodec_decode(data, size, &options, &image, message) != CImageCodec_OK) {
        if (memchr(message, 0, sizeof message) == NULL) abort();  // the message is always terminated
        return 0;
    }
    if (image.pixels == NULL || image.width <= 0 || image.height <= 0) abort();
    uint8_t *encoded = NULL;
    size_t encoded_size = 0;
    if (CImageCodec_encode_png(image.pixels, image.width, image.height, image.channels, 1, &encoded, &encoded_size,
                               message) == CImageCodec_OK) {
        CImageCodec_Image again;
        options.keep_alpha = 1;
        if (CImageCodec_decode(encoded, encoded_size, &options, &again, message) != CImageCodec_OK) abort();
        if (again.width != image.width || again.height != image.height ||
            memcmp(again.pixels, image.pixels, (size_t)image.width * image.height * image.channels) != 0) abort();
        CImageCodec_free(again.pixels);
        CImageCodec_free(encoded);
    }
    if (image.channels != 4 && image.width <= 65500 && image.height <= 65500 &&
        CImageCodec_encode_jpeg(image.pixels, image.width, image.height, image.channels, 75, &encoded, &encoded_size,
                                message) == CImageCodec_OK) {
        CImageCodec_free(encoded);
    }
    CImageCodec_free(image.pixels);
    return 0;
}
