/* folder.h: an image-classification set stored as one sub-folder per class
 * of PNG and JPEG files (the torchvision ImageFolder layout).
 *
 * Classes are the sub-folders of dir in byte order of their names (the
 * index is the label); files are taken in byte order too, those whose name
 * ends in .png, .jpg or .jpeg (any case); hidden entries and other files are
 * skipped. Every image is brought to cfg->channels (grey replicated to RGB;
 * RGB to grey with the ITU-R 601 luma PIL uses), resized so that its
 * shorter side is cfg->side (PIL's antialiased bilinear filter, rounded),
 * and centre-cropped to side x side: torchvision's Resize + CenterCrop. An
 * unreadable file is an error naming it. Not here: augmentation, splits
 * (the caller loads dir/train and dir/test), caching. */
#ifndef DATA_FOLDER_H
#define DATA_FOLDER_H

#include "data/dataset.h"
#include "nn/status.h"

typedef struct {
    int side;     /* output side, 8..4096 */
    int channels; /* 1 or 3 */
} data_folder_cfg;

#define DATA_FOLDER_MAX_CLASSES 256

/* ds allocated here (data_set_free). class_names, if not NULL, receives
 * the class (sub-folder) names, ds->nclass of them, each a malloc'ed
 * string: free them with data_folder_free_names. */
int data_folder_load(data_set *ds, const char *dir, const data_folder_cfg *cfg,
                     char ***class_names, qa_err *err);
void data_folder_free_names(char **names, int n);

/* dir/train and dir/test as side x side RGB ([data] folder_side; 32 is
 * CIFAR's shape, for which the cifar severity table is made), for the
 * experiments' dataset table; the two splits must have the same class
 * folders. */
int data_folder_load_splits(data_set *train, data_set *test, const char *dir, int side,
                            qa_err *err);

/* (ih, iw, c) -> (oh, ow, c) with PIL's bilinear filter widened by the
 * scale when shrinking (antialiasing), rounded to nearest. */
void data_image_resize(const uint8_t *in, int ih, int iw, int c, uint8_t *out, int oh, int ow,
                       double *scratch);
/* doubles of scratch data_image_resize needs */
size_t data_image_resize_scratch(int ih, int iw, int oh, int ow, int c);

#endif
