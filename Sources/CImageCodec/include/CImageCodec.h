#ifndef CIMAGECODEC_H
#define CIMAGECODEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes returned by every CImageCodec function.
typedef enum {
    CImageCodec_OK = 0,
    CImageCodec_INVALID = 1,      ///< corrupt, truncated, empty or not an image
    CImageCodec_UNSUPPORTED = 2,  ///< a valid image of a kind this build cannot decode
    CImageCodec_TOO_LARGE = 3,    ///< more pixels than the caller's limit
    CImageCodec_NO_MEMORY = 4,
    CImageCodec_BAD_ARGUMENT = 5,
} CImageCodec_Status;

typedef enum {
    CImageCodec_FORMAT_UNKNOWN = 0,
    CImageCodec_FORMAT_PNG = 1,
    CImageCodec_FORMAT_JPEG = 2,
} CImageCodec_Format;

/// Size of the message buffer callers pass in.
#define CImageCodec_MESSAGE_SIZE 256

/// A decoded image. `pixels` is malloc'ed and owned by the caller (free with CImageCodec_free).
typedef struct {
    uint8_t *pixels;
    int width;
    int height;
    int channels;  ///< 1 (gray) or 3 (RGB); 4 (RGBA) only when keep_alpha was requested
} CImageCodec_Image;

/// Decoding options.
typedef struct {
    uint64_t max_pixels;  ///< refuse images whose header declares more pixels (0 = no limit)
    int keep_alpha;       ///< non-zero: keep an alpha channel (RGBA); zero: drop it as cv2.imread does
    int apply_orientation;///< non-zero: apply the EXIF orientation as cv2.imread does
} CImageCodec_DecodeOptions;

/// Detects the format from the first bytes.
CImageCodec_Format CImageCodec_detect(const uint8_t *data, size_t size);


/// What a decoder will produce, known after its header was read.
typedef struct {
    int width;
    int height;
    int channels;  ///< 1 (gray) or 3 (RGB); 4 (RGBA) only when keep_alpha was requested
} CImageCodec_Info;

/// A decoder between its header and its pixels. Opaque.
typedef struct CImageCodec_Decoder CImageCodec_Decoder;

/// Reads the header of a PNG or JPEG held in memory, checks the limits and prepares decoding.
/// `data` must stay valid until CImageCodec_decoder_close. On success, `*decoder` must be closed.
CImageCodec_Status CImageCodec_decoder_open(const uint8_t *data, size_t size,
                                            const CImageCodec_DecodeOptions *options,
                                            CImageCodec_Decoder **decoder, CImageCodec_Info *info,
                                            char *message);

/// Decodes the pixels into `pixels` (width × height × channels bytes, rows without padding) and
/// reports the EXIF orientation (1...8; 1 when absent or not requested) for
/// CImageCodec_orient. Call once.
CImageCodec_Status CImageCodec_decoder_read(CImageCodec_Decoder *decoder, uint8_t *pixels, int *orientation,
                                            char *message);

/// Frees a decoder (NULL is fine).
void CImageCodec_decoder_close(CImageCodec_Decoder *decoder);

/// Writes `source` turned by an EXIF orientation into `target`, as OpenCV's ExifTransform does.
/// Orientations 5...8 swap width and height. `target` must not overlap `source`.
void CImageCodec_orient(const uint8_t *source, int width, int height, int channels, int orientation,
                        uint8_t *target);

/// Decodes a PNG or JPEG held in memory in one call (open, read, orient, close).
/// On success `out->pixels` is malloc'ed; free it with CImageCodec_free.
CImageCodec_Status CImageCodec_decode(const uint8_t *data, size_t size,
                                      const CImageCodec_DecodeOptions *options,
                                      CImageCodec_Image *out, char *message);

/// Encodes 8-bit gray, RGB or RGBA pixels as PNG. `level` is the zlib level 0...9.
/// The output buffer is malloc'ed; free it with CImageCodec_free.
CImageCodec_Status CImageCodec_encode_png(const uint8_t *pixels, int width, int height, int channels,
                                          int level, uint8_t **out, size_t *out_size, char *message);

/// Encodes 8-bit gray or RGB pixels as baseline JPEG with the given quality 1...100.
CImageCodec_Status CImageCodec_encode_jpeg(const uint8_t *pixels, int width, int height, int channels,
                                           int quality, uint8_t **out, size_t *out_size, char *message);

/// Frees a buffer returned by this library.
void CImageCodec_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
