// PNG through libpng. Every png_error longjmps back into the function that called setjmp here;
// nothing longjmps across a Swift frame.
#include "internal.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    char *message;
    /// The largest allocation refused for being over CImageCodec_PNG_MAX_ALLOCATION (0: none).
    size_t refused;
} png_source;

static void png_read_memory(png_structp png, png_bytep out, png_size_t length) {
    png_source *source = (png_source *)png_get_io_ptr(png);
    if (source->size - source->offset < length) {
        if (source->refused > 0) {
            // Name the real cause: a chunk header declared far more data than the file holds.
            char text[160];
            snprintf(text, sizeof text,
                     "unexpected end of file (truncated PNG) after a chunk declaring %zu bytes, over the %d MiB allocation limit",
                     source->refused, 64);
            png_error(png, text);
        }
        png_error(png, "unexpected end of file (truncated PNG)");
    }
    memcpy(out, source->data + source->offset, length);
    source->offset += length;
}

static void png_fail(png_structp png, png_const_charp text) {
    char *message = (char *)png_get_error_ptr(png);
    CImageCodec_set_message(message, "invalid PNG: %s", text);
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;  // Ancillary-chunk problems; the image data is intact.
}

/// libpng's own allocations (row buffers, ancillary chunks) never need more than this; a
/// larger request comes from a chunk header that lies about its length.
#define CImageCodec_PNG_MAX_ALLOCATION ((png_alloc_size_t)64 << 20)  // named in messages as 64 MiB

static png_voidp png_bounded_malloc(png_structp png, png_alloc_size_t size) {
    if (size > CImageCodec_PNG_MAX_ALLOCATION) {
        png_source *source = (png_source *)png_get_mem_ptr(png);
        if (source != NULL && size > source->refused) source->refused = size;
        return NULL;
    }
    return malloc(size);
}

static void png_bounded_free(png_structp png, png_voidp pointer) {
    (void)png;
    free(pointer);
}

static CImageCodec_Status png_open(png_structp *png, png_infop *info, png_source *source, char *message) {
    *png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, message, png_fail, png_warn, source, png_bounded_malloc,
                                    png_bounded_free);
    if (*png == NULL) {
        CImageCodec_set_message(message, "out of memory creating the PNG decoder");
        return CImageCodec_NO_MEMORY;
    }
    *info = png_create_info_struct(*png);
    if (*info == NULL) {
        png_destroy_read_struct(png, NULL, NULL);
        CImageCodec_set_message(message, "out of memory creating the PNG decoder");
        return CImageCodec_NO_MEMORY;
    }
    png_set_read_fn(*png, source, png_read_memory);
    // Bound what libpng allocates for one ancillary chunk (text, ICC profile, EXIF): a chunk
    // header may declare gigabytes in a file of a few bytes, and libpng only warns about it.
    // The image size is checked separately against the caller's pixel limit.
    png_set_chunk_malloc_max(*png, 16u << 20);
    png_set_chunk_cache_max(*png, 1000);
    return CImageCodec_OK;
}


struct CImageCodec_PNGDecoder {
    png_structp png;
    png_infop info;
    png_source source;
    png_bytep *rows;
    int apply_orientation;
    png_uint_32 width, height;
    int channels;
};

void CImageCodec_png_close(CImageCodec_PNGDecoder *decoder) {
    if (decoder == NULL) return;
    png_destroy_read_struct(&decoder->png, &decoder->info, NULL);
    free(decoder->rows);
    free(decoder);
}

CImageCodec_Status CImageCodec_png_open(const uint8_t *data, size_t size, const CImageCodec_DecodeOptions *options,
                                        CImageCodec_PNGDecoder **result, CImageCodec_Info *header, char *message) {
    // Heap-allocated and reached through a pointer that never changes after setjmp.
    CImageCodec_PNGDecoder *decoder = calloc(1, sizeof(CImageCodec_PNGDecoder));
    if (decoder == NULL) {
        CImageCodec_set_message(message, "out of memory creating the PNG decoder");
        return CImageCodec_NO_MEMORY;
    }
    decoder->source = (png_source){data, size, 0, message};
    decoder->apply_orientation = options->apply_orientation;
    CImageCodec_Status status = png_open(&decoder->png, &decoder->info, &decoder->source, message);
    if (status != CImageCodec_OK) {
        free(decoder);
        return status;
    }
    volatile CImageCodec_Status failure = CImageCodec_INVALID;
    if (setjmp(png_jmpbuf(decoder->png))) {
        CImageCodec_png_close(decoder);
        return failure;
    }
    png_structp png = decoder->png;
    png_infop info = decoder->info;
    png_read_info(png, info);
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);

    if (options->max_pixels > 0 && (uint64_t)width * (uint64_t)height > options->max_pixels) {
        CImageCodec_set_message(message, "image of %u×%u pixels exceeds the limit of %llu pixels", width, height,
                                (unsigned long long)options->max_pixels);
        failure = CImageCodec_TOO_LARGE;
        png_longjmp(png, 1);
    }

    const int has_trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    const int keep_alpha = options->keep_alpha && ((color_type & PNG_COLOR_MASK_ALPHA) || has_trns);

    // The transformations cv2.imread(IMREAD_COLOR) asks libpng for, except that gray stays gray.
    if (bit_depth == 16) png_set_strip_16(png);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if ((color_type & PNG_COLOR_MASK_COLOR) == 0 && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (keep_alpha) {
        if (has_trns) png_set_tRNS_to_alpha(png);
        if ((color_type & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(png);
    } else {
        png_set_strip_alpha(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    const int channels = png_get_channels(png, info);
    if ((channels != 1 && channels != 3 && channels != 4) ||
        png_get_rowbytes(png, info) != (size_t)width * (size_t)channels) {
        failure = CImageCodec_UNSUPPORTED;
        png_error(png, "unexpected layout after conversion to 8 bits");
    }
    decoder->width = width;
    decoder->height = height;
    decoder->channels = channels;
    header->width = (int)width;
    header->height = (int)height;
    header->channels = channels;
    *result = decoder;
    return CImageCodec_OK;
}

CImageCodec_Status CImageCodec_png_read(CImageCodec_PNGDecoder *decoder, uint8_t *pixels, int *orientation,
                                        char *message) {
    decoder->source.message = message;
    png_set_error_fn(decoder->png, message, png_fail, png_warn);
    volatile CImageCodec_Status failure = CImageCodec_INVALID;
    if (setjmp(png_jmpbuf(decoder->png))) return failure;
    const size_t row_bytes = (size_t)decoder->width * (size_t)decoder->channels;
    decoder->rows = malloc(sizeof(png_bytep) * decoder->height);
    if (decoder->rows == NULL) {
        failure = CImageCodec_NO_MEMORY;
        png_error(decoder->png, "out of memory");
    }
    for (png_uint_32 y = 0; y < decoder->height; y++) decoder->rows[y] = pixels + (size_t)y * row_bytes;
    png_read_image(decoder->png, decoder->rows);
    png_read_end(decoder->png, decoder->info);  // `info`, not NULL: keeps an eXIf chunk after the image data

    // OpenCV honours an eXIf chunk before or after the image data.
    *orientation = 1;
#ifdef PNG_eXIf_SUPPORTED
    png_uint_32 exif_length = 0;
    png_bytep exif = NULL;
    if (decoder->apply_orientation && png_get_eXIf_1(decoder->png, decoder->info, &exif_length, &exif) != 0) {
        *orientation = CImageCodec_exif_orientation(exif, exif_length);
    }
#endif
    return CImageCodec_OK;
}

// MARK: - Encoding

typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    int failed;
} png_sink;

static void png_write_memory(png_structp png, png_bytep bytes, png_size_t length) {
    png_sink *sink = (png_sink *)png_get_io_ptr(png);
    if (sink->capacity - sink->size < length) {
        size_t capacity = sink->capacity * 2;
        if (capacity < sink->size + length) capacity = sink->size + length;
        uint8_t *grown = realloc(sink->data, capacity);
        if (grown == NULL) {
            sink->failed = 1;
            png_error(png, "out of memory");
        }
        sink->data = grown;
        sink->capacity = capacity;
    }
    memcpy(sink->data + sink->size, bytes, length);
    sink->size += length;
}

static void png_flush_memory(png_structp png) { (void)png; }

static void png_write_fail(png_structp png, png_const_charp text) {
    char *message = (char *)png_get_error_ptr(png);
    CImageCodec_set_message(message, "PNG encoding failed: %s", text);
    png_longjmp(png, 1);
}

CImageCodec_Status CImageCodec_encode_png(const uint8_t *pixels, int width, int height, int channels, int level,
                                          uint8_t **out, size_t *out_size, char *message) {
    if (pixels == NULL || out == NULL || out_size == NULL || width <= 0 || height <= 0 ||
        (channels != 1 && channels != 3 && channels != 4) || level < 0 || level > 9) {
        CImageCodec_set_message(message, "invalid arguments for PNG encoding");
        return CImageCodec_BAD_ARGUMENT;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, message, png_write_fail, png_warn);
    if (png == NULL) {
        CImageCodec_set_message(message, "out of memory creating the PNG encoder");
        return CImageCodec_NO_MEMORY;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        CImageCodec_set_message(message, "out of memory creating the PNG encoder");
        return CImageCodec_NO_MEMORY;
    }
    // Allocated before setjmp and only written through pointers afterwards, so the handler sees
    // their current values.
    png_sink *sink = calloc(1, sizeof(png_sink));
    png_bytep *rows = malloc(sizeof(png_bytep) * (size_t)height);
    if (sink != NULL) {
        sink->capacity = (size_t)width * (size_t)height * (size_t)channels / 2 + 1024;
        sink->data = malloc(sink->capacity);
    }
    if (sink == NULL || sink->data == NULL || rows == NULL) {
        if (sink != NULL) free(sink->data);
        free(sink);
        free(rows);
        png_destroy_write_struct(&png, &info);
        CImageCodec_set_message(message, "out of memory encoding PNG");
        return CImageCodec_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        CImageCodec_Status failure = sink->failed ? CImageCodec_NO_MEMORY : CImageCodec_INVALID;
        free(rows);
        free(sink->data);
        free(sink);
        png_destroy_write_struct(&png, &info);
        return failure;
    }
    png_set_write_fn(png, sink, png_write_memory, png_flush_memory);
    png_set_compression_level(png, level);
    if (level == 1) {
        // OpenCV's default, tuned for speed: Sub filter, Z_RLE.
        png_set_compression_strategy(png, Z_RLE);
        png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
    } else {
        // Any other level, as OpenCV with IMWRITE_PNG_COMPRESSION: libpng's adaptive filters
        // and zlib's default strategy, so a higher level really compresses harder.
        png_set_compression_strategy(png, Z_DEFAULT_STRATEGY);
    }
    const int color_type = channels == 1 ? PNG_COLOR_TYPE_GRAY : channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA;
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) rows[y] = (png_bytep)(pixels + (size_t)y * (size_t)width * (size_t)channels);
    png_write_image(png, rows);
    png_write_end(png, info);
    free(rows);
    png_destroy_write_struct(&png, &info);
    *out = sink->data;
    *out_size = sink->size;
    free(sink);
    return CImageCodec_OK;
}
