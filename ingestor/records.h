/* Framing a byte stream (a file, stdin) into records for the normalizer,
 * and the dead-letter form of a rejected record. */
#ifndef PARRY_RECORDS_H
#define PARRY_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "parry/buf.h"
#include "parry/error.h"

/* rec/len: the record (at most max_record bytes); oversize: the record was
 * longer (len is then max_record and total_len its real length). seq: the
 * 1-based line number of the record's first line. */
typedef void (*parry_record_cb)(void *opaque, const char *rec, size_t len, uint64_t seq,
                                bool oversize, size_t total_len);

/* Lines, unless the stream holds JSON documents spread over several lines
 * (it starts with '{' or '[' and its first line alone is not valid JSON):
 * then each document is a record (documents one after another, as tools
 * that pretty-print a series write them), numbered by its first line.
 * Returns PARRY_ERR_IO on a read error. */
parry_err_t parry_read_records(FILE *f, size_t max_record, parry_record_cb cb, void *opaque,
                               char *errstr, size_t errstr_size);

/* The dead-letter record of a rejected input, as one JSON line (no newline):
 *   {"reason": ..., "source": ..., "seq": N, "received": "RFC 3339",
 *    "record": "text"}                  when the bytes are valid UTF-8
 *    "record_base64": "..."             otherwise, so no byte is lost */
void parry_reject_to_json(parry_buf_t *out, const char *reason, const char *source,
                          uint64_t seq, int64_t received_ns, const char *rec, size_t len);

#endif
