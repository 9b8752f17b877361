// Shared helpers of the CImageCodec implementation files; not part of the public header.
#ifndef CIMAGECODEC_INTERNAL_H
#define CIMAGECODEC_INTERNAL_H

#include "CImageCodec.h"

#include <stdarg.h>
#include <stdio.h>

/// Writes a formatted message into the caller's buffer (may be NULL).
static inline void CImageCodec_set_message(char *message, const char *format, ...) {
    if (message == NULL) return;
    va_list args;
    va_start(args, format);
    vsnprintf(message, CImageCodec_MESSAGE_SIZE, format, args);
    va_end(args);
}

/// Reads the EXIF orientation (1...8) from a TIFF/EXIF block; 1 when absent or malformed.
int CImageCodec_exif_orientation(const uint8_t *tiff, size_t size);

/// Applies an EXIF orientation to `image` in place as cv2.imread does (may swap width/height).
CImageCodec_Status CImageCodec_apply_orientation(CImageCodec_Image *image, int orientation, char *message);

CImageCodec_Status CImageCodec_decode_png(const uint8_t *data, size_t size, const CImageCodec_DecodeOptions *options,
                                          CImageCodec_Image *out, char *message);
CImageCodec_Status CImageCodec_decode_jpeg(const uint8_t *data, size_t size, const CImageCodec_DecodeOptions *options,
                                           CImageCodec_Image *out, char *message);
CImageCodec_Status CImageCodec_probe_png(const uint8_t *data, size_t size, int *width, int *height, char *message);
CImageCodec_Status CImageCodec_probe_jpeg(const uint8_t *data, size_t size, int *width, int *height, char *message);

#endif
