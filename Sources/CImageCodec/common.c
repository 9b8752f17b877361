#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

CImageCodec_Format CImageCodec_detect(const uint8_t *data, size_t size) {
    if (data == NULL) return CImageCodec_FORMAT_UNKNOWN;
    if (size >= 8 && memcmp(data, png_signature, 8) == 0) return CImageCodec_FORMAT_PNG;
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return CImageCodec_FORMAT_JPEG;
    return CImageCodec_FORMAT_UNKNOWN;
}

static CImageCodec_Status unknown_format(const uint8_t *data, size_t size, char *message) {
    if (size == 0) {
        CImageCodec_set_message(message, "the file is empty");
    } else {
        (void)data;
        CImageCodec_set_message(message, "not a PNG or JPEG file (unrecognised signature)");
    }
    return CImageCodec_INVALID;
}


struct CImageCodec_Decoder {
    CImageCodec_Format format;
    CImageCodec_PNGDecoder *png;
    CImageCodec_JPEGDecoder *jpeg;
};

CImageCodec_Status CImageCodec_decoder_open(const uint8_t *data, size_t size, const CImageCodec_DecodeOptions *options,
                                            CImageCodec_Decoder **result, CImageCodec_Info *info, char *message) {
    if (result == NULL || info == NULL || options == NULL) {
        CImageCodec_set_message(message, "internal error: missing argument");
        return CImageCodec_BAD_ARGUMENT;
    }
    *result = NULL;
    CImageCodec_Decoder *decoder = calloc(1, sizeof(CImageCodec_Decoder));
    if (decoder == NULL) {
        CImageCodec_set_message(message, "out of memory creating a decoder");
        return CImageCodec_NO_MEMORY;
    }
    decoder->format = CImageCodec_detect(data, size);
    CImageCodec_Status status;
    switch (decoder->format) {
    case CImageCodec_FORMAT_PNG: status = CImageCodec_png_open(data, size, options, &decoder->png, info, message); break;
    case CImageCodec_FORMAT_JPEG: status = CImageCodec_jpeg_open(data, size, options, &decoder->jpeg, info, message); break;
    default: status = unknown_format(data, size, message); break;
    }
    if (status != CImageCodec_OK) {
        free(decoder);
        return status;
    }
    *result = decoder;
    return CImageCodec_OK;
}

CImageCodec_Status CImageCodec_decoder_read(CImageCodec_Decoder *decoder, uint8_t *pixels, int *orientation,
                                            char *message) {
    if (decoder == NULL || pixels == NULL || orientation == NULL) {
        CImageCodec_set_message(message, "internal error: missing argument");
        return CImageCodec_BAD_ARGUMENT;
    }
    return decoder->png != NULL ? CImageCodec_png_read(decoder->png, pixels, orientation, message)
                                : CImageCodec_jpeg_read(decoder->jpeg, pixels, orientation, message);
}

void CImageCodec_decoder_close(CImageCodec_Decoder *decoder) {
    if (decoder == NULL) return;
    CImageCodec_png_close(decoder->png);
    CImageCodec_jpeg_close(decoder->jpeg);
    free(decoder);
}

CImageCodec_Status CImageCodec_decode(const uint8_t *data, size_t size, const CImageCodec_DecodeOptions *options,
                                      CImageCodec_Image *out, char *message) {
    if (out == NULL) {
        CImageCodec_set_message(message, "internal error: missing argument");
        return CImageCodec_BAD_ARGUMENT;
    }
    memset(out, 0, sizeof(*out));
    CImageCodec_Decoder *decoder = NULL;
    CImageCodec_Info info;
    CImageCodec_Status status = CImageCodec_decoder_open(data, size, options, &decoder, &info, message);
    if (status != CImageCodec_OK) return status;
    const size_t bytes = (size_t)info.width * (size_t)info.height * (size_t)info.channels;
    uint8_t *pixels = malloc(bytes);
    int orientation = 1;
    if (pixels == NULL) {
        CImageCodec_set_message(message, "out of memory for a %d×%d image", info.width, info.height);
        status = CImageCodec_NO_MEMORY;
    } else {
        status = CImageCodec_decoder_read(decoder, pixels, &orientation, message);
    }
    CImageCodec_decoder_close(decoder);
    if (status == CImageCodec_OK && orientation != 1) {
        uint8_t *turned = malloc(bytes);
        if (turned == NULL) {
            CImageCodec_set_message(message, "out of memory applying the EXIF orientation");
            status = CImageCodec_NO_MEMORY;
        } else {
            CImageCodec_orient(pixels, info.width, info.height, info.channels, orientation, turned);
            free(pixels);
            pixels = turned;
            if (orientation >= 5) {
                const int width = info.width;
                info.width = info.height;
                info.height = width;
            }
        }
    }
    if (status != CImageCodec_OK) {
        free(pixels);
        return status;
    }
    out->pixels = pixels;
    out->width = info.width;
    out->height = info.height;
    out->channels = info.channels;
    return CImageCodec_OK;
}

void CImageCodec_free(void *pointer) { free(pointer); }

// MARK: - EXIF orientation

static uint32_t read16(const uint8_t *p, int little) { return little ? (uint32_t)(p[0] | p[1] << 8) : (uint32_t)(p[0] << 8 | p[1]); }

static uint32_t read32(const uint8_t *p, int little) {
    return little ? ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24)
                  : ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

int CImageCodec_exif_orientation(const uint8_t *tiff, size_t size) {
    if (tiff == NULL || size < 8) return 1;
    int little;
    if (tiff[0] == 'I' && tiff[1] == 'I') little = 1;
    else if (tiff[0] == 'M' && tiff[1] == 'M') little = 0;
    else return 1;
    if (read16(tiff + 2, little) != 42) return 1;
    uint32_t ifd = read32(tiff + 4, little);
    if (ifd > size || size - ifd < 2) return 1;
    uint32_t count = read16(tiff + ifd, little);
    for (uint32_t i = 0; i < count; i++) {
        size_t entry = (size_t)ifd + 2 + (size_t)i * 12;
        if (entry + 12 > size) return 1;
        if (read16(tiff + entry, little) == 0x0112) {
            uint32_t type = read16(tiff + entry + 2, little);
            uint32_t value = type == 3 ? read16(tiff + entry + 8, little) : read32(tiff + entry + 8, little);
            return (value >= 1 && value <= 8) ? (int)value : 1;
        }
    }
    return 1;
}

void CImageCodec_orient(const uint8_t *source, int width, int height, int channels, int orientation,
                        uint8_t *target) {
    const int w = width, h = height, c = channels;
    const int swap = orientation >= 5 && orientation <= 8;
    const int ow = swap ? h : w, oh = swap ? w : h;
    // For every output pixel, the source pixel: orientation 2..8 as OpenCV's ExifTransform
    // (flip, transpose, and their combinations).
    for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
            int sx, sy;
            switch (orientation) {
            case 2: sx = w - 1 - ox; sy = oy; break;
            case 3: sx = w - 1 - ox; sy = h - 1 - oy; break;
            case 4: sx = ox; sy = h - 1 - oy; break;
            case 5: sx = oy; sy = ox; break;
            case 6: sx = oy; sy = h - 1 - ox; break;
            case 7: sx = w - 1 - oy; sy = h - 1 - ox; break;
            case 8: sx = w - 1 - oy; sy = ox; break;
            default: sx = ox; sy = oy; break;
            }
            memcpy(target + ((size_t)oy * ow + ox) * c, source + ((size_t)sy * w + sx) * c, (size_t)c);
        }
    }
}
