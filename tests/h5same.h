/* h5same.h: two HDF5 files (run files, checkpoints) compared value for
 * value with the plain HDF5 API, for tests of bit-identical results. Not a
 * diff tool: it stops at the first difference and says where it is. */
#ifndef QA_TEST_H5SAME_H
#define QA_TEST_H5SAME_H

typedef struct {
    long values;   /* scalar values compared */
    char why[512]; /* the first difference */
} h5same_result;

/* Every group, dataset and attribute of a is in b and the reverse, with the
 * same type, shape and values (floats bit for bit, variable-length strings
 * by content), except what skip (NULL-terminated, may be NULL) names: an
 * attribute or compound member name skips that attribute or column
 * everywhere, an object path ("/config") that object's value and a path
 * ending in '/' ("/tables/") the values of every object below it (their
 * attributes are still compared). Returns 0 when the files agree, -1 with
 * r->why naming the first difference or the file that cannot be read. */
int h5same_files(const char *a, const char *b, const char *const *skip, h5same_result *r);

#endif
