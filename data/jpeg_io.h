/* jpeg_io.h: JPEG files and buffers <-> 8-bit grey or RGB pixels, through
 * libjpeg-turbo's TurboJPEG API (this and png_io.c are the only files that
 * include codec headers).
 *
 * Encoding is baseline with the standard tables scaled by quality, 4:2:0
 * chroma subsampling for RGB, a single grey component for c = 1 and the
 * accurate integer DCT (TurboJPEG would pick the fast one): what PIL's JPEG
 * writer does, so the ImageNet-C jpeg_compression comes out byte for byte
 * as PIL makes it (checked against Debian's python3-pil). Decoding
 * uses the accurate integer DCT and fancy upsampling (libjpeg's defaults)
 * and stops at the first codec warning, so a truncated file is an error,
 * not a grey-padded image. CMYK/YCCK files are refused (QA_ERR_UNSUPPORTED).
 *
 * A data_jpeg_codec holds one encoder, one decoder and one output buffer:
 * create one per thread and reuse it, the handles are expensive to make and
 * not thread-safe. */
#ifndef DATA_JPEG_IO_H
#define DATA_JPEG_IO_H

#include <stddef.h>
#include <stdint.h>

#include "data/image.h"

typedef struct data_jpeg_codec data_jpeg_codec;

int data_jpeg_codec_create(data_jpeg_codec **out, qa_err *err);
void data_jpeg_codec_free(data_jpeg_codec *jc);

/* px (h, w, c) -> JPEG bytes in the codec's buffer, valid until the next
 * call on jc; quality 1..100. */
int data_jpeg_encode(data_jpeg_codec *jc, const uint8_t *px, int h, int w, int c, int quality,
                     const uint8_t **jpeg, size_t *size, qa_err *err);
/* JPEG bytes -> a newly allocated image: c = 1 for grey files, else 3. */
int data_jpeg_decode(data_jpeg_codec *jc, const uint8_t *jpeg, size_t size, data_image *im,
                     qa_err *err);
/* JPEG bytes -> out (h, w, c) when the file is exactly h x w; a colour file
 * decoded with c = 1 is converted to grey by the codec. */
int data_jpeg_decode_into(data_jpeg_codec *jc, const uint8_t *jpeg, size_t size, int h, int w,
                          int c, uint8_t *out, qa_err *err);
/* encode at quality then decode: the jpeg_compression corruption */
int data_jpeg_roundtrip(data_jpeg_codec *jc, const uint8_t *px, int h, int w, int c, int quality,
                        uint8_t *out, qa_err *err);

/* Files. im is allocated by read (data_image_free it). */
int data_jpeg_read(const char *path, data_image *im, qa_err *err);
int data_jpeg_write(const char *path, const data_image *im, int quality, qa_err *err);

#endif
