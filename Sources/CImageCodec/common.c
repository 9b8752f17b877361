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

CImageCodec_Status CImageCodec_probe(const uint8_t *data, size_t size, int *width, int *height, char *message) {
    switch (CImageCodec_detect(data, size)) {
    case CImageCodec_FORMAT_PNG: return CImageCodec_probe_png(data, size, width, height, message);
    case CImageCodec_FORMAT_JPEG: return CImageCodec_probe_jpeg(data, size, width, height, message);
    default: return unknown_format(data, size, message);
    }
}

CImageCodec_Status CImageCodec_decode(const uint8_t *data, size_t size, const CImageCodec_DecodeOptions *options,
                                      CImageCodec_Image *out, char *message) {
    if (out == NULL || options == NULL) {
        CImageCodec_set_message(message, "internal error: missing argument");
        return CImageCodec_BAD_ARGUMENT;
    }
    memset(out, 0, sizeof(*out));
    switch (CImageCodec_detect(data, size)) {
    case CImageCodec_FORMAT_PNG: return CImageCodec_decode_png(data, size, options, out, message);
    case CImageCodec_FORMAT_JPEG: return CImageCodec_decode_jpeg(data, size, options, out, message);
    default: return unknown_format(data, size, message);
    }
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

CImageCodec_Status CImageCodec_apply_orientation(CImageCodec_Image *image, int orientation, char *message) {
    if (orientation <= 1 || orientation > 8) return CImageCodec_OK;
    const int w = image->width, h = image->height, c = image->channels;
    const int swap = orientation >= 5;
    const int ow = swap ? h : w, oh = swap ? w : h;
    uint8_t *out = malloc((size_t)w * (size_t)h * (size_t)c);
    if (out == NULL) {
        CImageCodec_set_message(message, "out of memory applying the EXIF orientation");
        return CImageCodec_NO_MEMORY;
    }
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
            default: sx = w - 1 - oy; sy = ox; break;  // 8
            }
            memcpy(out + ((size_t)oy * ow + ox) * c, image->pixels + ((size_t)sy * w + sx) * c, (size_t)c);
        }
    }
    free(image->pixels);
    image->pixels = out;
    image->width = ow;
    image->height = oh;
    return CImageCodec_OK;
}
