/* kern_c.c: the portable variant, the shared epilogue store, dispatch. */
#include <string.h>

#include "deploy/kern.h"

void dep_epi_store(const dep_conv_args *a, int s, int p, int oc, int32_t acc)
{
    const int32_t *sk = a->skip ? a->skip + (size_t)s * a->skip_stride + (size_t)p * (size_t)a->OC + (size_t)oc : NULL;
    float v = dep_epi_value(acc, a->m[oc], a->b[oc], sk, a->u, a->lo, a->hi);
    if (a->out_kind == DEP_OUT_CODES) {
        uint8_t *o = (uint8_t *)a->out + (size_t)s * a->out_stride;
        o[(size_t)p * (size_t)a->out_cp + (size_t)oc] = (uint8_t)(dep_round(v) + a->z_out);
    } else if (a->out_kind == DEP_OUT_FIX) {
        ((int32_t *)a->out)[(size_t)s * a->out_stride + (size_t)p * (size_t)a->OC + (size_t)oc] =
            dep_round(v);
    } else {
        ((float *)a->out)[(size_t)s * a->out_stride + (size_t)p * (size_t)a->OC + (size_t)oc] = v;
    }
}

static int c_supported(void)
{
    return 1;
}

static size_t c_wbytes(int oc, int t, int cp)
{
    return (size_t)oc * (size_t)t * (size_t)cp;
}

static void c_pack(const int8_t *w, int oc, int t, int cp, void *out)
{
    memcpy(out, w, c_wbytes(oc, t, cp));
}

static void c_conv(const dep_conv_args *a)
{
    const int8_t *w = a->w;
    size_t krow = (size_t)a->T * (size_t)a->Cp;
    for (int s = 0; s < a->n; s++) {
        const uint8_t *base = a->in + (size_t)s * a->in_stride;
        for (int p = a->p_lo; p < a->p_hi; p++)
            for (int oc = 0; oc < a->OC; oc++) {
                int32_t acc = 0;
                for (int t = 0; t < a->T; t++) {
                    const uint8_t *x = base + a->ind[(size_t)p * (size_t)a->T + (size_t)t];
                    const int8_t *wr = w + (size_t)oc * krow + (size_t)t * (size_t)a->Cp;
                    for (int c = 0; c < a->Cp; c++)
                        acc += (int32_t)wr[c] * (int32_t)x[c];
                }
                dep_epi_store(a, s, p, oc, acc - a->zc[oc]);
            }
    }
}

static void c_dw(const dep_conv_args *a)
{
    const int8_t *w = a->w;
    for (int s = 0; s < a->n; s++) {
        const uint8_t *base = a->in + (size_t)s * a->in_stride;
        for (int p = a->p_lo; p < a->p_hi; p++) {
            const int32_t *ind = a->ind + (size_t)p * (size_t)a->T;
            for (int c = 0; c < a->OC; c++) {
                int32_t acc = 0;
                for (int t = 0; t < a->T; t++)
                    acc += (int32_t)w[(size_t)t * (size_t)a->Cp + (size_t)c] *
                           (int32_t)base[ind[t] + c];
                dep_epi_store(a, s, p, c, acc - a->zc[c]);
            }
        }
    }
}

static const dep_kern kern_c = {"c", c_supported, c_wbytes, c_pack, c_conv, c_dw};

#if defined(__x86_64__) && defined(__GNUC__)
extern const dep_kern dep_kern_avx2, dep_kern_vnni;
const dep_kern *const dep_kern_table[] = {&dep_kern_vnni, &dep_kern_avx2, &kern_c, NULL};
#else
const dep_kern *const dep_kern_table[] = {&kern_c, NULL};
#endif

const dep_kern *dep_kern_best(void)
{
    for (int i = 0; dep_kern_table[i]; i++)
        if (dep_kern_table[i]->supported())
            return dep_kern_table[i];
    return &kern_c;
}

const dep_kern *dep_kern_find(const char *name)
{
    for (int i = 0; dep_kern_table[i]; i++)
        if (strcmp(dep_kern_table[i]->name, name) == 0)
            return dep_kern_table[i]->supported() ? dep_kern_table[i] : NULL;
    return NULL;
}
