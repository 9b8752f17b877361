#include "CImageKernels.h"
#include "internal.h"

// Everything runs in 16-bit lanes: |dx|, |dy| ≤ 1020, so the L1 magnitude (≤ 2040) and the
// direction bounds below fit an int16_t, and the auto-vectoriser packs 16 pixels per AVX2 op.

// Sobel dx, dy (BORDER_REPLICATE) and the L1 magnitude of one row. `mag` has width + 2 entries,
// the first and last stay 0 (magnitudes outside the image count as 0).
CIK_INLINE void canny_gradient(const uint8_t *restrict u, const uint8_t *restrict c, const uint8_t *restrict d,
                               int16_t *restrict gx, int16_t *restrict gy, int16_t *restrict mag, int width) {
    // two loops: with the absolute values in the same loop clang widens everything to 32 bits
#pragma clang loop vectorize(assume_safety)
    for (int x = 1; x < width - 1; x++) {
        gx[x] = (int16_t)((u[x + 1] - u[x - 1]) + 2 * (c[x + 1] - c[x - 1]) + (d[x + 1] - d[x - 1]));
        gy[x] = (int16_t)((d[x - 1] + 2 * d[x] + d[x + 1]) - (u[x - 1] + 2 * u[x] + u[x + 1]));
    }
#pragma clang loop vectorize(assume_safety)
    for (int x = 1; x < width - 1; x++) {
        int16_t dx = gx[x], dy = gy[x];
        mag[x + 1] = (int16_t)((dx < 0 ? -dx : dx) + (dy < 0 ? -dy : dy));
    }
    const int xs[2] = {0, width - 1};
    for (int e = 0; e < (width > 1 ? 2 : 1); e++) {
        int x = xs[e];
        int l = cik_replicate(x - 1, width), r = cik_replicate(x + 1, width);
        int dx = (u[r] - u[l]) + 2 * (c[r] - c[l]) + (d[r] - d[l]);
        int dy = (d[l] + 2 * d[x] + d[r]) - (u[l] + 2 * u[x] + u[r]);
        gx[x] = (int16_t)dx;
        gy[x] = (int16_t)dy;
        mag[x + 1] = (int16_t)((dx < 0 ? -dx : dx) + (dy < 0 ? -dy : dy));
    }
}

// Non-maximum suppression of `n` pixels, branch-free so that it vectorises. `mp`, `ma`, `mn` are
// the magnitudes of the rows above, at and below, offset by one (index x + 1 is column x).
// Writes 2 (strong edge), 0 (candidate: above low, a local maximum) or 1 (not an edge).
//
// OpenCV's direction tests, |dy|·2¹⁵ < |dx|·13573 (horizontal) and
// |dy|·2¹⁵ > |dx|·(13573 + 2¹⁶) (vertical), are evaluated in 16 bits as |dy| ≤ f and
// |dy| > 2|dx| + f with f = ⌊|dx|·13573 / 2¹⁵⌋ = (|dx|·27146) >> 16 (a pmulhw): 13573 is odd, so
// |dx|·13573 / 2¹⁵ is never a whole number for 0 < |dx| ≤ 1020, and the two forms agree on every
// pixel with a non-zero magnitude (checked exhaustively); zero magnitudes are never candidates.
CIK_INLINE void canny_nms_span(const int16_t *restrict gx, const int16_t *restrict gy, const int16_t *restrict mp,
                               const int16_t *restrict ma, const int16_t *restrict mn, uint8_t *restrict m, int n,
                               int16_t low, int16_t high) {
#pragma clang loop vectorize(assume_safety)
    for (int x = 0; x < n; x++) {
        int16_t v = ma[x + 1];
        int16_t xs = gx[x], ys = gy[x];
        int16_t ax = (int16_t)(xs < 0 ? -xs : xs);
        int16_t ay = (int16_t)(ys < 0 ? -ys : ys);
        int16_t f = (int16_t)(((int32_t)ax * 27146) >> 16);
        int16_t g = (int16_t)(2 * ax + f);
        // s = -1 (signs differ): above-right and below-left; s = +1: above-left and below-right
        int16_t sel = (int16_t)((xs ^ ys) >> 15);  // all ones when the signs differ: a select, not a gather
        int16_t p0 = mp[x], p2 = mp[x + 2], n0 = mn[x], n2 = mn[x + 2];
        int16_t dp = (int16_t)(p0 ^ ((p0 ^ p2) & sel));
        int16_t dn = (int16_t)(n2 ^ ((n2 ^ n0) & sel));
        // 0 / -1 masks and bitwise selects only: a ternary here lets clang sink the loads into
        // the branches, which it then emulates lane by lane
        int16_t keepH = (int16_t)-((v > ma[x]) & (v >= ma[x + 2]));
        int16_t keepV = (int16_t)-((v > mp[x + 1]) & (v >= mn[x + 1]));
        int16_t keepD = (int16_t)-((v > dp) & (v > dn));
        int16_t isH = (int16_t)-(ay <= f), isV = (int16_t)-(ay > g);
        int16_t keep = (int16_t)((keepH & isH) | (~isH & ((keepV & isV) | (keepD & ~isV))));
        keep = (int16_t)(keep & -(v > low));
        int16_t strong = (int16_t)-(v > high);
        m[x] = (uint8_t)(1 + (keep & (int16_t)(-1 - 2 * strong)));  // 1 no edge, 0 candidate, 2 strong
    }
}

typedef struct {
    uint8_t **items;
    size_t count, capacity;
} canny_stack;

CIK_INLINE int canny_push(canny_stack *s, uint8_t *p) {
    if (s->count == s->capacity) {
        size_t capacity = s->capacity * 2;
        uint8_t **grown = realloc(s->items, capacity * sizeof(uint8_t *));
        if (!grown) return -1;
        s->items = grown;
        s->capacity = capacity;
    }
    s->items[s->count++] = p;
    return 0;
}

enum { CANNY_BLOCK = 32 };

// Pushes the strong pixels (2) among `m[0 ..< n]`.
CIK_INLINE int canny_push_strong(canny_stack *s, uint8_t *m, int n) {
    uint8_t *p = m, *end = m + n;
    while ((p = memchr(p, 2, (size_t)(end - p))) != NULL) {
        if (canny_push(s, p)) return -1;
        p++;
    }
    return 0;
}

// One row of non-maximum suppression; pushes the row's strong pixels on `strong`. Blocks of
// CANNY_BLOCK pixels with no magnitude above `low` (most of a flat or sparse image) are written
// as 1 without the suppression arithmetic, as OpenCV skips them, and are not searched.
CIK_INLINE int canny_nms_row(const int16_t *restrict gx, const int16_t *restrict gy, const int16_t *restrict mp,
                             const int16_t *restrict ma, const int16_t *restrict mn, uint8_t *restrict m, int width,
                             int16_t low, int16_t high, canny_stack *strong) {
    int x0 = 0;
    for (; x0 + CANNY_BLOCK <= width; x0 += CANNY_BLOCK) {
        int16_t top = 0;
#pragma clang loop vectorize(assume_safety)
        for (int i = 0; i < CANNY_BLOCK; i++) top = ma[x0 + i + 1] > top ? ma[x0 + i + 1] : top;
        if (top <= low) {
            memset(m + x0, 1, CANNY_BLOCK);
            continue;
        }
        canny_nms_span(gx + x0, gy + x0, mp + x0, ma + x0, mn + x0, m + x0, CANNY_BLOCK, low, high);
        if (top > high && canny_push_strong(strong, m + x0, CANNY_BLOCK)) return -1;
    }
    if (x0 < width) {
        canny_nms_span(gx + x0, gy + x0, mp + x0, ma + x0, mn + x0, m + x0, width - x0, low, high);
        if (canny_push_strong(strong, m + x0, width - x0)) return -1;
    }
    return 0;
}

// Hysteresis from the pixels on `work`: marks 8-connected candidates (0) as edges (2). Pixels at
// or after `frontier` (the last row suppressed so far, whose lower neighbours are not known yet)
// are moved to `later` instead of being grown; pass NULL once every row is known.
CIK_INLINE int canny_grow(canny_stack *work, canny_stack *later, const uint8_t *frontier, const ptrdiff_t off[8]) {
    while (work->count > 0) {
        uint8_t *p = work->items[--work->count];
        if (frontier && p >= frontier) {
            if (canny_push(later, p)) return -1;
            continue;
        }
        for (int k = 0; k < 8; k++) {
            uint8_t *q = p + off[k];
            if (*q == 0) {
                *q = 2;
                if (canny_push(work, q)) return -1;
            }
        }
    }
    return 0;
}

CIK_INLINE int canny_impl(const uint8_t *src, uint8_t *dst, int width, int height, int low32, int high32) {
    const size_t w = (size_t)width, mapstep = w + 2;
    // magnitudes never exceed 2040: larger thresholds behave like 32767 and fit the 16-bit lanes
    const int16_t low = (int16_t)(low32 > 32767 ? 32767 : low32), high = (int16_t)(high32 > 32767 ? 32767 : high32);
    int16_t *magbuf = calloc(4 * mapstep, sizeof(int16_t));  // 3 rows + 1 zero row
    int16_t *gbuf = malloc(4 * w * sizeof(int16_t));         // dx, dy of 2 rows
    uint8_t *map = malloc(mapstep * ((size_t)height + 2));
    canny_stack work = {malloc(1024 * sizeof(uint8_t *)), 0, 1024};
    canny_stack later = {malloc(1024 * sizeof(uint8_t *)), 0, 1024};
    int status = -1;
    if (!magbuf || !gbuf || !map || !work.items || !later.items) goto done;
    memset(map, 1, mapstep);
    memset(map + mapstep * ((size_t)height + 1), 1, mapstep);
    int16_t *zero = magbuf + 3 * mapstep;
    const ptrdiff_t off[8] = {-1, 1, -(ptrdiff_t)mapstep - 1, -(ptrdiff_t)mapstep, -(ptrdiff_t)mapstep + 1,
                              (ptrdiff_t)mapstep - 1, (ptrdiff_t)mapstep, (ptrdiff_t)mapstep + 1};

#define ROW(y) (src + (size_t)cik_replicate((y), height) * w)
#define MAG(y) (magbuf + (size_t)((y) % 3) * mapstep)
#define GX(y) (gbuf + (size_t)((y) & 1) * 2 * w)
#define GY(y) (gbuf + (size_t)((y) & 1) * 2 * w + w)
    canny_gradient(ROW(-1), ROW(0), ROW(1), GX(0), GY(0), MAG(0), width);
    for (int y = 0; y < height; y++) {
        if (y + 1 < height)
            canny_gradient(ROW(y), ROW(y + 1), ROW(y + 2), GX(y + 1), GY(y + 1), MAG(y + 1), width);
        const int16_t *mp = y > 0 ? MAG(y - 1) : zero;
        const int16_t *ma = MAG(y);
        const int16_t *mn = y + 1 < height ? MAG(y + 1) : zero;
        uint8_t *m = map + mapstep * ((size_t)y + 1) + 1;
        m[-1] = 1;
        m[width] = 1;
        // Row y's strong pixels wait on `later` for row y + 1; the pixels held back from row
        // y - 1 can grow now that row y is known (their neighbours lie in rows y - 2 ... y),
        // while those rows are still in the cache.
        canny_stack swap = work;
        work = later;
        later = swap;
        if (canny_nms_row(GX(y), GY(y), mp, ma, mn, m, width, low, high, &later)) goto done;
        if (canny_grow(&work, &later, m - 1, off)) goto done;
    }
#undef ROW
#undef MAG
#undef GX
#undef GY
    if (canny_grow(&later, &work, NULL, off)) goto done;

    for (int y = 0; y < height; y++) {
        const uint8_t *restrict m = map + mapstep * ((size_t)y + 1) + 1;
        uint8_t *restrict o = dst + (size_t)y * w;
#pragma clang loop vectorize(assume_safety)
        for (int x = 0; x < width; x++) o[x] = (uint8_t)-(m[x] >> 1);  // 2 → 255; 0, 1 → 0
    }
    status = 0;
done:
    free(magbuf); free(gbuf); free(map); free(work.items); free(later.items);
    return status;
}

CIK_DISPATCH(int, canny_run, (const uint8_t *src, uint8_t *dst, int width, int height, int low, int high),
             canny_impl, (src, dst, width, height, low, high))

int CImageKernels_canny(const uint8_t *src, uint8_t *dst, int width, int height, int low, int high) {
    return canny_run(src, dst, width, height, low, high);
}
