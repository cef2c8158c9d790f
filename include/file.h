/* file.h: whole small files (models' JSON, vocabularies, configs). */
#ifndef BF_FILE_H
#define BF_FILE_H

#include <stddef.h>

/* Reads the whole file at path into a malloc'd buffer with a NUL after its
 * len bytes. NULL on failure, errno set (ENOMEM, EIO or open's error). */
char *bf_read_file(const char *path, size_t *len);

#endif
