/* sheet.h: drawing for `qadapt corrupt --grid`: a canvas (a data_image),
 * nearest-neighbour scaled image tiles and labels in a built-in 5x7 pixel
 * font, so the contact sheet needs no font library. Not here: what goes
 * where (cmd_corrupt.c), PNG writing (data/png_io.h). */
#ifndef EXP_SHEET_H
#define EXP_SHEET_H

#include <stdint.h>

#include "data/image.h"

/* a glyph is 5x7 pixels; characters advance by 6 (times the scale) */
#define EXP_SHEET_ADVANCE 6
#define EXP_SHEET_GLYPH_H 7

void exp_sheet_fill(data_image *im, uint8_t v);
/* src (h, w, c), c = 1 or 3, drawn at (y, x) magnified by scale; clipped */
void exp_sheet_blit(data_image *dst, int y, int x, const uint8_t *src, int h, int w, int c,
                    int scale);
/* s at (y, x) (top left) in grey level v; returns the width drawn */
int exp_sheet_text(data_image *dst, int y, int x, const char *s, int scale, uint8_t v);
int exp_sheet_text_width(const char *s, int scale);

#endif
