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


typedef struct CImageCodec_PNGDecoder CImageCodec_PNGDecoder;
typedef struct CImageCodec_JPEGDecoder CImageCodec_JPEGDecoder;

CImageCodec_Status CImageCodec_png_open(const uint8_t *data, size_t size, const CImageCodec_DecodeOptions *options,
                                        CImageCodec_PNGDecoder **decoder, CImageCodec_Info *info, char *message);
CImageCodec_Status CImageCodec_png_read(CImageCodec_PNGDecoder *decoder, uint8_t *pixels, int *orientation, char *message);
void CImageCodec_png_close(CImageCodec_PNGDecoder *decoder);

CImageCodec_Status CImageCodec_jpeg_open(const uint8_t *data, size_t size, const CImageCodec_DecodeOptions *options,
                                         CImageCodec_JPEGDecoder **decoder, CImageCodec_Info *info, char *message);
CImageCodec_Status CImageCodec_jpeg_read(CImageCodec_JPEGDecoder *decoder, uint8_t *pixels, int *orientation, char *message);
void CImageCodec_jpeg_close(CImageCodec_JPEGDecoder *decoder);


#endif
