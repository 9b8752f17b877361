#include "CImageKernels.h"
#include "internal.h"

// Sobel dx, dy (BORDER_REPLICATE) and the L1 magnitude of one row. `mag` has width + 2 entries,
// the first and last stay 0 (magnitudes outside the image count as 0).
CIK_INLINE void canny_gradient(const uint8_t *restrict u, const uint8_t *restrict c, const uint8_t *restrict d,
                               int16_t *restrict gx, int16_t *restrict gy, int32_t *restrict mag, int width) {
#pragma clang loop vectorize(assume_safety)
    for (int x = 1; x < width - 1; x++) {
        int dx = (u[x + 1] - u[x - 1]) + 2 * (c[x + 1] - c[x - 1]) + (d[x + 1] - d[x - 1]);
        int dy = (d[x - 1] + 2 * d[x] + d[x + 1]) - (u[x - 1] + 2 * u[x] + u[x + 1]);
        gx[x] = (int16_t)dx;
        gy[x] = (int16_t)dy;
        mag[x + 1] = (dx < 0 ? -dx : dx) + (dy < 0 ? -dy : dy);
    }
    const int xs[2] = {0, width - 1};
    for (int e = 0; e < (width > 1 ? 2 : 1); e++) {
        int x = xs[e];
        int l = cik_replicate(x - 1, width), r = cik_replicate(x + 1, width);
        int dx = (u[r] - u[l]) + 2 * (c[r] - c[l]) + (d[r] - d[l]);
        int dy = (d[l] + 2 * d[x] + d[r]) - (u[l] + 2 * u[x] + u[r]);
        gx[x] = (int16_t)dx;
        gy[x] = (int16_t)dy;
        mag[x + 1] = (dx < 0 ? -dx : dx) + (dy < 0 ? -dy : dy);
    }
}

// Non-maximum suppression of one row, branch-free so that it vectorises. `mp`, `ma`, `mn` are
// the magnitudes of the rows above, at and below, offset by one (index x + 1 is column x).
// Writes 2 (strong edge), 0 (candidate: above low, a local maximum) or 1 (not an edge).
CIK_INLINE void canny_nms_row(const int16_t *restrict gx, const int16_t *restrict gy, const int32_t *restrict mp,
                              const int32_t *restrict ma, const int32_t *restrict mn, uint8_t *restrict m, int width,
                              int low, int high) {
#pragma clang loop vectorize(assume_safety)
    for (int x = 0; x < width; x++) {
        int v = ma[x + 1];
        int xs = gx[x], ys = gy[x];
        int ax = xs < 0 ? -xs : xs;
        int ay = (ys < 0 ? -ys : ys) << 15;
        int tg22x = ax * 13573;
        int tg67x = tg22x + (ax << 16);
        int opposite = (xs ^ ys) < 0;  // s = -1: above-right and below-left; s = +1: above-left and below-right
        int p0 = mp[x], p2 = mp[x + 2], n0 = mn[x], n2 = mn[x + 2];
        int sel = -opposite;  // all ones when opposite: a bitwise select, not a gather
        int dp = p0 ^ ((p0 ^ p2) & sel);
        int dn = n2 ^ ((n2 ^ n0) & sel);
        int keepH = (v > ma[x]) & (v >= ma[x + 2]);
        int keepV = (v > mp[x + 1]) & (v >= mn[x + 1]);
        int keepD = (v > dp) & (v > dn);
        int keep = ay < tg22x ? keepH : (ay > tg67x ? keepV : keepD);
        keep &= v > low;
        m[x] = (uint8_t)(keep ? (v > high ? 2 : 0) : 1);
    }
}

CIK_INLINE int canny_impl(const uint8_t *src, uint8_t *dst, int width, int height, int low, int high) {
    const size_t w = (size_t)width, mapstep = w + 2;
    int32_t *magbuf = calloc(4 * mapstep, sizeof(int32_t));  // 3 rows + 1 zero row
    int16_t *gbuf = malloc(4 * w * sizeof(int16_t));         // dx, dy of 2 rows
    uint8_t *map = malloc(mapstep * ((size_t)height + 2));
    size_t capacity = w * (size_t)height / 8 + 1024, sp = 0;
    uint8_t **stack = malloc(capacity * sizeof(uint8_t *));
    if (!magbuf || !gbuf || !map || !stack) {
        free(magbuf); free(gbuf); free(map); free(stack);
        return -1;
    }
    memset(map, 1, mapstep);
    memset(map + mapstep * ((size_t)height + 1), 1, mapstep);
    int32_t *zero = magbuf + 3 * mapstep;

#define ROW(y) (src + (size_t)cik_replicate((y), height) * w)
#define MAG(y) (magbuf + (size_t)((y) % 3) * mapstep)
#define GX(y) (gbuf + (size_t)((y) & 1) * 2 * w)
#define GY(y) (gbuf + (size_t)((y) & 1) * 2 * w + w)
    canny_gradient(ROW(-1), ROW(0), ROW(1), GX(0), GY(0), MAG(0), width);
    for (int y = 0; y < height; y++) {
        if (y + 1 < height)
            canny_gradient(ROW(y), ROW(y + 1), ROW(y + 2), GX(y + 1), GY(y + 1), MAG(y + 1), width);
        const int32_t *mp = y > 0 ? MAG(y - 1) : zero;
        const int32_t *ma = MAG(y);
        const int32_t *mn = y + 1 < height ? MAG(y + 1) : zero;
        const int16_t *gx = GX(y), *gy = GY(y);
        uint8_t *m = map + mapstep * ((size_t)y + 1) + 1;
        m[-1] = 1;
        m[width] = 1;
        canny_nms_row(gx, gy, mp, ma, mn, m, width, low, high);
        // push the strong pixels of this row
        uint8_t *p = m, *end = m + width;
        while ((p = memchr(p, 2, (size_t)(end - p))) != NULL) {
            if (sp == capacity) {
                capacity *= 2;
                uint8_t **grown = realloc(stack, capacity * sizeof(uint8_t *));
                if (!grown) { free(magbuf); free(gbuf); free(map); free(stack); return -1; }
                stack = grown;
            }
            stack[sp++] = p;
            p++;
        }
    }
#undef ROW
#undef MAG
#undef GX
#undef GY

    // hysteresis: grow strong edges into 8-connected candidates
    const ptrdiff_t off[8] = {-1, 1, -(ptrdiff_t)mapstep - 1, -(ptrdiff_t)mapstep, -(ptrdiff_t)mapstep + 1,
                              (ptrdiff_t)mapstep - 1, (ptrdiff_t)mapstep, (ptrdiff_t)mapstep + 1};
    while (sp > 0) {
        uint8_t *p = stack[--sp];
        for (int k = 0; k < 8; k++) {
            uint8_t *q = p + off[k];
            if (*q == 0) {
                *q = 2;
                if (sp == capacity) {
                    capacity *= 2;
                    uint8_t **grown = realloc(stack, capacity * sizeof(uint8_t *));
                    if (!grown) { free(magbuf); free(gbuf); free(map); free(stack); return -1; }
                    stack = grown;
                }
                stack[sp++] = q;
            }
        }
    }
    for (int y = 0; y < height; y++) {
        const uint8_t *restrict m = map + mapstep * ((size_t)y + 1) + 1;
        uint8_t *restrict o = dst + (size_t)y * w;
        for (int x = 0; x < width; x++) o[x] = m[x] == 2 ? 255 : 0;
    }
    free(magbuf); free(gbuf); free(map); free(stack);
    return 0;
}

CIK_DISPATCH(int, canny_run, (const uint8_t *src, uint8_t *dst, int width, int height, int low, int high),
             canny_impl, (src, dst, width, height, low, high))

int CImageKernels_canny(const uint8_t *src, uint8_t *dst, int width, int height, int low, int high) {
    return canny_run(src, dst, width, height, low, high);
}
