/* datasets.h: the table of datasets a config can name in [data] dataset.
 *
 * Each entry loads the training and test sets of one source into data_sets
 * (readers live in data/). A new dataset is one line in the table in
 * datasets.c and its reader in data/. Not here: splitting, shuffling,
 * normalising (data/loader.h), degrading (env/). */
#ifndef EXP_DATASETS_H
#define EXP_DATASETS_H

#include "data/dataset.h"
#include "nn/status.h"

typedef struct {
    const char *name;
    const char *help;
    const char *default_dir;
    /* dir is never empty here (the default replaces ""); side: [data]
     * folder_side, the square side of sets that resize (fixed-size sets
     * ignore it) */
    int (*load)(data_set *train, data_set *test, const char *dir, int side, qa_err *err);
} exp_dataset;

/* Table order is the index the [data] dataset key stores. */
const exp_dataset *exp_dataset_get(int i);
/* Name of entry i, NULL past the end (the schema's enum choices). */
const char *exp_dataset_choice(int i);
/* Loads both splits of dataset i from dir ("" = the dataset's default) into
 * train and test (overwritten: free them first), side x side for the sets
 * that resize; errors name the dataset. On failure both sets are empty. */
int exp_dataset_load(int i, const char *dir, int side, data_set *train, data_set *test,
                     qa_err *err);

#endif
