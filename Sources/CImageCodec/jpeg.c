// JPEG through libjpeg-turbo. error_exit longjmps back into the function that called setjmp
// here; nothing longjmps across a Swift frame. Warnings (a damaged or truncated scan, which
// libjpeg would otherwise fill with gray) are errors: a half-decoded image is never returned.
#include "internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char *message;
    int unsupported;
} jpeg_failure;

static void jpeg_record(j_common_ptr info) {
    jpeg_failure *failure = (jpeg_failure *)info->err;
    char text[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, text);
    CImageCodec_set_message(failure->message, "invalid JPEG: %s", text);
    const int code = info->err->msg_code;
    if (code == JERR_BAD_PRECISION || code == JERR_NOT_COMPILED || code == JERR_CONVERSION_NOTIMPL ||
        code == JERR_BAD_J_COLORSPACE) {
        failure->unsupported = 1;
        CImageCodec_set_message(failure->message, "unsupported JPEG: %s", text);
    }
}

static void jpeg_error_exit(j_common_ptr info) {
    jpeg_record(info);
    longjmp(((jpeg_failure *)info->err)->jump, 1);
}

static void jpeg_emit_message(j_common_ptr info, int level) {
    if (level < 0) {  // a warning: corrupt data that libjpeg would paper over
        jpeg_record(info);
        longjmp(((jpeg_failure *)info->err)->jump, 1);
    }
}

static void jpeg_install(struct jpeg_decompress_struct *info, jpeg_failure *failure, char *message) {
    info->err = jpeg_std_error(&failure->base);
    failure->base.error_exit = jpeg_error_exit;
    failure->base.emit_message = jpeg_emit_message;
    failure->message = message;
    failure->unsupported = 0;
}


/// Adobe CMYK (as libjpeg returns it) to RGB, exactly as OpenCV's icvCvt_CMYK2BGR_8u_C4C3R.
static void cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, size_t count) {
    for (size_t i = 0; i < count; i++, cmyk += 4, rgb += 3) {
        const int c = cmyk[0], m = cmyk[1], y = cmyk[2], k = cmyk[3];
        rgb[0] = (uint8_t)(k - ((255 - c) * k >> 8));
        rgb[1] = (uint8_t)(k - ((255 - m) * k >> 8));
        rgb[2] = (uint8_t)(k - ((255 - y) * k >> 8));
    }
}

static int jpeg_orientation(struct jpeg_decompress_struct *info) {
    for (jpeg_saved_marker_ptr marker = info->marker_list; marker != NULL; marker = marker->next) {
        if (marker->marker == JPEG_APP0 + 1 && marker->data_length > 6 && memcmp(marker->data, "Exif\0\0", 6) == 0) {
            return CImageCodec_exif_orientation(marker->data + 6, marker->data_length - 6);
        }
    }
    return 1;
}

struct CImageCodec_JPEGDecoder {
    struct jpeg_decompress_struct info;
    jpeg_failure failure;
    int created;
    int cmyk;
    int apply_orientation;
    uint8_t *cmyk_row;
    JSAMPROW *rows;
};

void CImageCodec_jpeg_close(CImageCodec_JPEGDecoder *decoder) {
    if (decoder == NULL) return;
    if (decoder->created) jpeg_destroy_decompress(&decoder->info);
    free(decoder->cmyk_row);
    free(decoder->rows);
    free(decoder);
}

CImageCodec_Status CImageCodec_jpeg_open(const uint8_t *data, size_t size, const CImageCodec_DecodeOptions *options,
                                         CImageCodec_JPEGDecoder **result, CImageCodec_Info *header, char *message) {
    // Heap-allocated and reached through a pointer that never changes after setjmp.
    CImageCodec_JPEGDecoder *decoder = calloc(1, sizeof(CImageCodec_JPEGDecoder));
    if (decoder == NULL) {
        CImageCodec_set_message(message, "out of memory creating the JPEG decoder");
        return CImageCodec_NO_MEMORY;
    }
    struct jpeg_decompress_struct *info = &decoder->info;
    jpeg_install(info, &decoder->failure, message);
    if (setjmp(decoder->failure.jump)) {
        CImageCodec_Status status = decoder->failure.unsupported ? CImageCodec_UNSUPPORTED : CImageCodec_INVALID;
        CImageCodec_jpeg_close(decoder);
        return status;
    }
    jpeg_create_decompress(info);
    decoder->created = 1;
    jpeg_mem_src(info, data, (unsigned long)size);
    decoder->apply_orientation = options->apply_orientation;
    if (options->apply_orientation) jpeg_save_markers(info, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(info, TRUE);

    if (options->max_pixels > 0 && (uint64_t)info->image_width * (uint64_t)info->image_height > options->max_pixels) {
        CImageCodec_set_message(message, "image of %u×%u pixels exceeds the limit of %llu pixels", info->image_width,
                                info->image_height, (unsigned long long)options->max_pixels);
        CImageCodec_jpeg_close(decoder);
        return CImageCodec_TOO_LARGE;
    }

    decoder->cmyk = info->jpeg_color_space == JCS_CMYK || info->jpeg_color_space == JCS_YCCK;
    if (info->jpeg_color_space == JCS_GRAYSCALE) {
        info->out_color_space = JCS_GRAYSCALE;
    } else if (decoder->cmyk) {
        info->out_color_space = JCS_CMYK;
    } else {
        info->out_color_space = JCS_RGB;
    }
    // libjpeg-turbo's defaults, which OpenCV and Pillow use too: ISLOW IDCT, fancy upsampling.
    jpeg_start_decompress(info);
    header->width = (int)info->output_width;
    header->height = (int)info->output_height;
    header->channels = decoder->cmyk ? 3 : info->output_components;
    *result = decoder;
    return CImageCodec_OK;
}

CImageCodec_Status CImageCodec_jpeg_read(CImageCodec_JPEGDecoder *decoder, uint8_t *pixels, int *orientation,
                                         char *message) {
    struct jpeg_decompress_struct *info = &decoder->info;
    decoder->failure.message = message;
    if (setjmp(decoder->failure.jump)) {
        return decoder->failure.unsupported ? CImageCodec_UNSUPPORTED : CImageCodec_INVALID;
    }
    const size_t width = info->output_width, height = info->output_height;
    if (decoder->cmyk) {
        decoder->cmyk_row = malloc(width * 4);
        if (decoder->cmyk_row == NULL) {
            CImageCodec_set_message(message, "out of memory decoding a %zu×%zu JPEG", width, height);
            return CImageCodec_NO_MEMORY;
        }
        while (info->output_scanline < info->output_height) {
            const size_t y = info->output_scanline;
            JSAMPROW row = decoder->cmyk_row;
            jpeg_read_scanlines(info, &row, 1);
            cmyk_to_rgb(decoder->cmyk_row, pixels + y * width * 3, width);
        }
    } else {
        // Straight into the caller's buffer, as many rows per call as libjpeg offers.
        const size_t stride = width * (size_t)info->output_components;
        decoder->rows = malloc(sizeof(JSAMPROW) * height);
        if (decoder->rows == NULL) {
            CImageCodec_set_message(message, "out of memory decoding a %zu×%zu JPEG", width, height);
            return CImageCodec_NO_MEMORY;
        }
        for (size_t y = 0; y < height; y++) decoder->rows[y] = pixels + y * stride;
        while (info->output_scanline < info->output_height) {
            jpeg_read_scanlines(info, decoder->rows + info->output_scanline, info->output_height - info->output_scanline);
        }
    }
    *orientation = decoder->apply_orientation ? jpeg_orientation(info) : 1;
    jpeg_finish_decompress(info);
    return CImageCodec_OK;
}

// MARK: - Encoding

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char *message;
} jpeg_encode_failure;

static void jpeg_encode_error_exit(j_common_ptr info) {
    jpeg_encode_failure *failure = (jpeg_encode_failure *)info->err;
    char text[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, text);
    CImageCodec_set_message(failure->message, "JPEG encoding failed: %s", text);
    longjmp(failure->jump, 1);
}

CImageCodec_Status CImageCodec_encode_jpeg(const uint8_t *pixels, int width, int height, int channels, int quality,
                                           uint8_t **out, size_t *out_size, char *message) {
    if (pixels == NULL || out == NULL || out_size == NULL || width <= 0 || height <= 0 || width > 65500 ||
        height > 65500 || (channels != 1 && channels != 3) || quality < 1 || quality > 100) {
        CImageCodec_set_message(message, "invalid arguments for JPEG encoding");
        return CImageCodec_BAD_ARGUMENT;
    }
    struct jpeg_compress_struct info;
    jpeg_encode_failure failure;
    info.err = jpeg_std_error(&failure.base);
    failure.base.error_exit = jpeg_encode_error_exit;
    failure.message = message;
    // jpeg_mem_dest writes the buffer pointer and size through these; heap cells so that the
    // handler sees their current values after a longjmp.
    unsigned char **buffer = calloc(1, sizeof(unsigned char *));
    unsigned long *length = calloc(1, sizeof(unsigned long));
    if (buffer == NULL || length == NULL) {
        free(buffer);
        free(length);
        CImageCodec_set_message(message, "out of memory encoding JPEG");
        return CImageCodec_NO_MEMORY;
    }
    if (setjmp(failure.jump)) {
        jpeg_destroy_compress(&info);
        free(*buffer);
        free(buffer);
        free(length);
        return CImageCodec_INVALID;
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, buffer, length);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = channels;
    info.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&info);  // 4:2:0 for colour, as OpenCV
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    const size_t stride = (size_t)width * (size_t)channels;
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + info.next_scanline * stride);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    *out = *buffer;
    *out_size = *length;
    free(buffer);
    free(length);
    return CImageCodec_OK;
}
