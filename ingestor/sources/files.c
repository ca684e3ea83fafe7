/* Files and stdin (ingestor.files), read once at start: replays, tests,
 * benchmarks. Records are framed as by `parry normalize` (parry_read_records:
 * lines, or one JSON document over several lines).
 *
 * Thread: one, reading the files in order, a stream per file. The emitter
 * waits for room in the producer queue as long as it takes, so a file is
 * read as fast as Kafka takes it. All messages share one delivery tracker;
 * the source is done when the last file is read and the tracker has
 * nothing pending.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/log.h"
#include "parry/mem.h"
#include "parry/timefmt.h"
#include "records.h"
#include "sources/sources.h"

typedef struct {
  char *path;
  FILE *f;
} file_t;

struct parry_files_source {
  const parry_source_env_t *env;
  file_t *files;
  size_t n_files;
  pthread_t thread;
  bool started;
  atomic_bool stop;
  atomic_bool done;
  parry_source_metrics_t m;
  parry_delivery_t *d;

  /* Thread-owned. */
  parry_emitter_t em;
  parry_stream_t *stream;
  uint64_t n_records;
  int64_t now_ns;
};

static void on_record(void *opaque, const char *rec, size_t len, uint64_t seq, bool oversize,
                      size_t total) {
  parry_files_source_t *s = opaque;
  /* Stopping: the rest of the file is not read into Kafka (it is still
   * there for the next run). */
  if (atomic_load_explicit(&s->stop, memory_order_relaxed)) return;
  parry_metric_add(s->m.records, 1);
  /* A file is read in seconds: the clock is read every 64 records, which
   * saves a clock read per record on the hot path. */
  if ((s->n_records++ & 63) == 0) s->now_ns = parry_time_now_ns();
  int64_t now = s->now_ns;
  s->em.received_ns = now;
  if (oversize) {
    char why[160];
    snprintf(why, sizeof why, "record of %zu bytes exceeds ingestor.max_record_size (%zu)",
             total, s->env->max_record);
    parry_stream_reject(s->stream, rec, len, seq, why);
    return;
  }
  parry_stream_record(s->stream, rec, len, seq, now);
}

static void *files_main(void *opaque) {
  parry_files_source_t *s = opaque;
  parry_log_action("reading ingestor.files");
  pthread_setname_np(pthread_self(), "parry-files");
  for (size_t i = 0; i < s->n_files && !atomic_load(&s->stop); i++) {
    file_t *f = &s->files[i];
    bool is_stdin = strcmp(f->path, "-") == 0;
    char source[4200];
    snprintf(source, sizeof source, "file:%s", is_stdin ? "stdin" : f->path);
    s->stream = parry_stream_new(s->env->normalizer, source, &parry_emitter_sink, &s->em);
    char why[512];
    int64_t t0 = parry_now_ms();
    if (parry_read_records(f->f, s->env->max_record, on_record, s, why, sizeof why) != PARRY_OK)
      LOG_ERROR("ingestor.files: %s: %s", f->path, why);
    const parry_stream_counts_t *c = parry_stream_counts(s->stream);
    LOG_INFO("ingestor.files: read %s in %lld ms: %llu records, %llu events, %llu rejected",
             f->path, (long long)(parry_now_ms() - t0), (unsigned long long)c->records,
             (unsigned long long)c->events, (unsigned long long)c->rejected);
    parry_stream_destroy(s->stream);
    s->stream = NULL;
    if (!is_stdin) fclose(f->f);
    f->f = NULL;
  }
  /* Done once Kafka has acknowledged everything (or stopping). */
  while (!atomic_load(&s->stop) &&
         parry_delivery_wait(s->d, parry_now_ms() + 200) != PARRY_OK) {
  }
  /* The replay's tally (bench/ingest_kafka.sh and bench/correlate_kafka.sh
   * read it): acknowledged means a delivery report without error; "not
   * queued" never reached the producer. */
  unsigned dlq = parry_delivery_delivered_dlq(s->d); /* before the total: see publish.c */
  unsigned delivered = parry_delivery_delivered(s->d);
  unsigned failed = parry_delivery_failed(s->d), pending = parry_delivery_pending(s->d);
  PARRY_LOG(failed || pending || s->em.failed ? PARRY_LOG_WARN : PARRY_LOG_INFO,
            "ingestor.files: %s; Kafka acknowledged %u events and %u dead letters; "
            "%u failed, %llu not queued, %u still in flight",
            pending ? "stopped before Kafka acknowledged everything" : "all files read",
            delivered - dlq, dlq, failed, (unsigned long long)s->em.failed, pending);
  atomic_store(&s->done, true);
  return NULL;
}

parry_err_t parry_files_source_start(const parry_source_env_t *env, parry_files_source_t **out,
                                     char *errstr, size_t errstr_size) {
  parry_files_source_t *s = parry_xnew(parry_files_source_t, 1);
  parry_err_t err = PARRY_OK;
  s->env = env;
  atomic_init(&s->stop, false);
  atomic_init(&s->done, false);
  char *spec = parry_xstrdup(parry_config_str(env->cfg, "ingestor.files")), *save = NULL;
  for (char *p = strtok_r(spec, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
    while (*p == ' ') p++;
    size_t n = strlen(p);
    while (n && p[n - 1] == ' ') p[--n] = '\0';
    if (!n) continue;
    FILE *f = strcmp(p, "-") == 0 ? stdin : fopen(p, "rb");
    if (!f) {
      char why[128];
      parry_source_os_error(errno, why, sizeof why);
      err = parry_fail(errstr, errstr_size, PARRY_ERR_NOT_FOUND,
                       "ingestor.files: could not open %s: %s", p, why);
      break;
    }
    s->files = parry_xreallocarray(s->files, s->n_files + 1, sizeof *s->files);
    s->files[s->n_files++] = (file_t){parry_xstrdup(p), f};
  }
  free(spec);
  if (err) goto out;
  parry_source_metrics_init(&s->m, env->metrics, "file");
  s->d = parry_delivery_new();
  s->em = (parry_emitter_t){.pub = env->pub, .metrics = &s->m, .delivery = s->d};
  if (pthread_create(&s->thread, NULL, files_main, s) != 0) {
    err = parry_fail(errstr, errstr_size, PARRY_ERR_IO,
                     "ingestor.files: could not start its thread");
    goto out;
  }
  s->started = true;
  LOG_INFO("reading %zu file%s (ingestor.files)", s->n_files, s->n_files == 1 ? "" : "s");
out:
  if (err) {
    parry_files_source_stop(s);
    return err;
  }
  *out = s;
  return PARRY_OK;
}

bool parry_files_source_done(parry_files_source_t *s) { return atomic_load(&s->done); }

unsigned parry_files_source_failed(parry_files_source_t *s) {
  return (s->d ? parry_delivery_failed(s->d) + parry_delivery_pending(s->d) : 0) +
         (unsigned)s->em.failed;
}

void parry_files_source_stop(parry_files_source_t *s) {
  if (!s) return;
  atomic_store(&s->stop, true);
  if (s->started) pthread_join(s->thread, NULL);
  for (size_t i = 0; i < s->n_files; i++) {
    if (s->files[i].f && s->files[i].f != stdin) fclose(s->files[i].f);
    free(s->files[i].path);
  }
  free(s->files);
  parry_delivery_release(s->d);
  free(s);
}
