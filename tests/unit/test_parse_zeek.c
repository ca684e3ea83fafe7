/* The Zeek parser (ingestor/parse/zeek.c): every Zeek log in the shared
 * data in both forms, TSV and JSON of the same logs giving the same events,
 * and the TSV header machinery's edge cases. */
#include <math.h>

#include "test_parse_util.h"

static const char *rel(const char *path) { return path + strlen(parry_test_data_dir()) + 1; }

static void run_files(char **files, size_t n, const char *format, size_t *events) {
  for (size_t i = 0; i < n; i++) {
    pt_run_t *r = pt_open(format, files[i]);
    r->sink.keep = false;
    pt_feed_file(r, files[i]);
    const parry_stream_counts_t *c = pt_counts(r);
    printf("  %-5s %6llu records %6llu events %4llu headers %llu rejects  %s\n",
           format ? format : "auto", (unsigned long long)c->records,
           (unsigned long long)c->events, (unsigned long long)c->skipped,
           (unsigned long long)c->rejected, rel(files[i]));
    for (size_t k = 0; k < r->sink.n_rejects && k < 3; k++)
      printf("    reject: %.300s\n", r->sink.rejects[k]);
    assert_int_equal(c->rejected, 0);
    assert_int_equal(c->events + c->skipped, c->records);
    assert_true(c->events > 0);
    *events += c->events;
    pt_close(r);
  }
}

static void test_corpus(void **state) {
  const char *dirs[] = {"zeek", "otrf-security-datasets/zeek-tsv"};
  static const char *const logs[] = {".log", ".json", ".log.gz", ".json.gz", NULL};
  for (size_t d = 0; d < 2; d++) {
    char *dir = pt_data(dirs[d]);
    if (!dir) skip();
    char **files;
    size_t n = pt_list(dir, logs, &files), forced = 0, autod = 0;
    assert_true(n > 10);
    run_files(files, n, "zeek", &forced);
    run_files(files, n, NULL, &autod);
    assert_int_equal(forced, autod);
    printf("%s: %zu files, %zu events, 0 rejects (forced and auto)\n", dirs[d], n, forced);
    pt_free_list(files, n);
    free(dir);
  }
}

/* An event's JSON without what depends on where it came from: the event
 * id (a hash of the source name and position) and the JSON writer's own
 * _path and _write_ts. */
static json_object *comparable(const char *text) {
  json_object *o = NULL;
  char err[256];
  if (parry_codec_parse_json(text, strlen(text), &o, err, sizeof err)) fail_msg("%s", err);
  json_object_object_del(pt_at(o, "event"), "id");
  json_object_object_del(o, "_path");
  json_object_object_del(o, "_write_ts");
  return o;
}

/* Equal JSON, except where TSV holds less than JSON (see zeek.c):
 * numbers with a fraction agree to six decimals, since Zeek's TSV writer
 * prints doubles and intervals as %.6f and its JSON writer with all their
 * digits; and "(empty)" may have been a set of one empty string. */
static bool same(json_object *a, json_object *b) {
  enum json_type ta = json_object_get_type(a), tb = json_object_get_type(b);
  if (ta == json_type_double || tb == json_type_double) {
    if ((ta != json_type_double && ta != json_type_int) ||
        (tb != json_type_double && tb != json_type_int))
      return false;
    return fabs(json_object_get_double(a) - json_object_get_double(b)) <= 5.0001e-7;
  }
  if (ta != tb) return false;
  if (ta == json_type_array) {
    size_t n = json_object_array_length(a);
    /* TSV's "(empty)" is [] (Zeek's reader says so) but the writer also
     * prints a set holding one empty string that way */
    if (n == 0 && json_object_array_length(b) == 1 &&
        json_object_is_type(json_object_array_get_idx(b, 0), json_type_string) &&
        json_object_get_string_len(json_object_array_get_idx(b, 0)) == 0)
      return true;
    if (n != json_object_array_length(b)) return false;
    for (size_t i = 0; i < n; i++)
      if (!same(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i))) return false;
    return true;
  }
  if (ta == json_type_object) {
    if (json_object_object_length(a) != json_object_object_length(b)) return false;
    json_object_object_foreach(a, key, va) {
      json_object *vb = NULL;
      if (!json_object_object_get_ex(b, key, &vb) || !same(va, vb)) return false;
    }
    return true;
  }
  return json_object_equal(a, b);
}

static void test_tsv_and_json_agree(void **state) {
  char *tsv_dir = pt_data("zeek/zed-sample-data/zeek-default");
  char *json_dir = pt_data("zeek/zed-sample-data/zeek-json");
  if (!tsv_dir || !json_dir) skip();
  static const char *const logs[] = {".log", ".log.gz", NULL};
  char **files;
  size_t n = pt_list(tsv_dir, logs, &files), pairs = 0, compared = 0, total_differ = 0;
  for (size_t i = 0; i < n; i++) {
    const char *base = strrchr(files[i], '/') + 1;
    bool gz = pt_has_suffix(base, ".gz");
    char *json_path = NULL;
    if (asprintf(&json_path, "%s/%.*s.json%s", json_dir, (int)(strstr(base, ".log") - base), base,
                 gz ? ".gz" : "") < 0)
      abort();
    struct stat st;
    if (stat(json_path, &st) != 0) {
      free(json_path);
      continue;
    }
    pt_run_t *t = pt_open("zeek", files[i]);
    pt_run_t *j = pt_open("zeek", json_path);
    t->sink.roundtrip = j->sink.roundtrip = false; /* the corpus test did that */
    if (PT_SAMPLE != SIZE_MAX) t->stop_after = j->stop_after = PT_SAMPLE;
    pt_feed_file(t, files[i]);
    pt_feed_file(j, json_path);
    assert_int_equal(t->sink.n_events, j->sink.n_events);
    size_t differ = 0, upto = t->sink.n_events < PT_SAMPLE ? t->sink.n_events : PT_SAMPLE;
    for (size_t k = 0; k < upto; k++) {
      json_object *a = comparable(t->sink.events[k]), *b = comparable(j->sink.events[k]);
      if (!same(a, b)) {
        if (differ < 2)
          printf("  %s event %zu differs:\n    tsv:  %.1500s\n    json: %.1500s\n", base, k,
                 json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
                 json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN));
        differ++;
      }
      json_object_put(a);
      json_object_put(b);
    }
    printf("  %-22s %6zu events, %zu compared, %zu differ\n", base, t->sink.n_events, upto,
           differ);
    total_differ += differ;
    compared += upto;
    pairs++;
    pt_close(t);
    pt_close(j);
    free(json_path);
  }
  printf("zeek TSV vs JSON: %zu logs, %zu event pairs, %zu differ\n", pairs, compared,
         total_differ);
  assert_int_equal(total_differ, 0);
  assert_true(pairs >= 28);
  pt_free_list(files, n);
  free(tsv_dir);
  free(json_dir);
}

/* ---- TSV edge cases ------------------------------------------------------- */

#define HEADER                                                                                \
  "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\ttest\n" \
  "#open\t2024-01-01-00-00-00\n"

static pt_run_t *feed_lines(const char *format, const char *source, const char *text) {
  pt_run_t *r = pt_open(format, source);
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    pt_feed_n(r, p, len);
    p += len + (nl ? 1 : 0);
  }
  return r;
}

static void test_tsv_types(void **state) {
  pt_run_t *r = feed_lines(
      NULL, "test",
      HEADER
      "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttags\tcounts\tnone\tunset\tmsg"
      "\tflag\tbig\tdur\tneg\tvec\thost\tbad_time\traw\tsrc\n"
      "#types\ttime\tstring\taddr\tport\taddr\tport\tset[string]\tvector[count]\tset[string]"
      "\tset[string]\tstring\tbool\tcount\tinterval\tint\tvector[string]\taddr\ttime\tstring\taddr\n"
      "1521911799.739898\tCabc\t10.0.0.1\t5555\t10.0.0.2\t22\ta,b\\x2cc,d\t1,2,3\t(empty)\t-"
      "\ttab\\x09nl\\x0a\\xe2\\x82\\xac \\x01 \\xff \\x5c\tT\t18446744073709551615\t3600.000000\t-7"
      "\tx,-,y\t192.0.2.1\tXXXXXXXXXX.XXXXXX\tbad\xff\tnot-an-ip\n"
      "#close\t2024-01-01-00-00-01\n");
  const parry_stream_counts_t *c = pt_counts(r);
  assert_int_equal(c->rejected, 0);
  assert_int_equal(c->events, 1);
  assert_int_equal(c->skipped, 9);
  json_object *ev = pt_event(r, 0);
  assert_string_equal(pt_str(ev, "@timestamp"), "2018-03-24T17:16:39.739898Z");
  assert_string_equal(json_object_get_string(pt_key(ev, "ts")), "2018-03-24T17:16:39.739898Z");
  assert_string_equal(json_object_get_string(pt_key(ev, "id.orig_h")), "10.0.0.1");
  assert_true(json_object_is_type(pt_key(ev, "id.orig_p"), json_type_int));
  assert_string_equal(json_object_get_string(pt_key(ev, "tags")), "[ \"a\", \"b,c\", \"d\" ]");
  assert_string_equal(json_object_get_string(pt_key(ev, "counts")), "[ 1, 2, 3 ]");
  assert_string_equal(json_object_get_string(pt_key(ev, "none")), "[ ]");
  assert_null(pt_key(ev, "unset"));
  assert_string_equal(json_object_get_string(pt_key(ev, "msg")),
                      "tab\tnl\n\xe2\x82\xac \\x01 \\xff \\");
  assert_true(json_object_get_boolean(pt_key(ev, "flag")));
  assert_string_equal(json_object_get_string(pt_key(ev, "big")), "18446744073709551615");
  assert_true(json_object_is_type(pt_key(ev, "dur"), json_type_double));
  assert_string_equal(json_object_get_string(pt_key(ev, "dur")), "3600.0");
  assert_int_equal(json_object_get_int64(pt_key(ev, "neg")), -7);
  assert_string_equal(json_object_get_string(pt_key(ev, "vec")), "[ \"x\", null, \"y\" ]");
  assert_null(pt_key(ev, "host"));
  assert_string_equal(pt_str(ev, "zeek.host"), "192.0.2.1");
  assert_string_equal(json_object_get_string(pt_key(ev, "bad_time")), "XXXXXXXXXX.XXXXXX");
  assert_string_equal(json_object_get_string(pt_key(ev, "raw")), "bad\xef\xbf\xbd");
  assert_string_equal(pt_str(ev, "source.ip"), "10.0.0.1");
  assert_string_equal(pt_str(ev, "source.port"), "5555");
  assert_string_equal(pt_str(ev, "destination.ip"), "10.0.0.2");
  assert_string_equal(pt_str(ev, "destination.port"), "22");
  assert_string_equal(pt_str(ev, "event.dataset"), "zeek.test");
  assert_string_equal(pt_str(ev, "logsource.product"), "zeek");
  assert_string_equal(pt_str(ev, "logsource.service"), "test");
  assert_string_equal(pt_str(ev, "message"), "<absent>");
  json_object_put(ev);
  pt_close(r);
}

static void expect_reasons(pt_run_t *r, const char *const *reasons) {
  size_t n = 0;
  for (; reasons[n]; n++) {
    assert_true(n < r->sink.n_rejects);
    const char *got = r->sink.rejects[n];
    if (strncmp(got, reasons[n], strlen(reasons[n])) != 0 || got[strlen(reasons[n])] != '\t')
      fail_msg("reject %zu: got \"%s\", want \"%s\"", n, got, reasons[n]);
  }
  assert_int_equal(r->sink.n_rejects, n);
}

static void test_tsv_bad_headers(void **state) {
  /* a data line with no header: rejected when forced, not claimed in auto */
  pt_run_t *r = feed_lines("zeek", "test", "1521911799.739898\tCabc\n");
  static const char *const before[] = {"zeek: data line before a #fields header", NULL};
  expect_reasons(r, before);
  pt_close(r);
  r = feed_lines(NULL, "test", "1521911799.739898\tCabc\n");
  static const char *const unclaimed[] = {"no parser recognises this record", NULL};
  expect_reasons(r, unclaimed);
  pt_close(r);

  /* #types not matching #fields: the header line and its data lines */
  r = feed_lines(NULL, "test",
                 HEADER "#fields\ta\tb\tc\n#types\tstring\tcount\n1\t2\t3\n");
  static const char *const mismatch[] = {
      "zeek: #types names 2 types for 3 #fields",
      "zeek: the header is unusable: #types names 2 types for 3 #fields", NULL};
  expect_reasons(r, mismatch);
  pt_close(r);

  /* a good header after a bad one starts afresh */
  r = feed_lines(NULL, "test",
                 "#separator \\x09\n#fields\n#separator \\x09\n#fields\ta\n#types\tcount\n7\n");
  static const char *const empty[] = {"zeek: #fields is not followed by the #separator", NULL};
  expect_reasons(r, empty);
  assert_int_equal(r->sink.n_events, 1);
  pt_close(r);

  r = feed_lines(NULL, "test", "#separator \\x09\n#fields\t\n1\n");
  static const char *const none[] = {"zeek: #fields names no fields",
                                     "zeek: the header is unusable: #fields names no fields",
                                     NULL};
  expect_reasons(r, none);
  pt_close(r);

  r = feed_lines(NULL, "test", "#separator \\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\n");
  static const char *const sep[] = {"zeek: #separator is not 1 to 7 bytes: \"??x01??x02??x03??x04??x05??x06??x07??x08\"", NULL};
  (void)sep;
  assert_int_equal(r->sink.n_rejects, 1);
  assert_non_null(strstr(r->sink.rejects[0], "zeek: #separator is not 1 to 7 bytes"));
  pt_close(r);

  r = feed_lines(NULL, "test", "#separator \\x09\n#path conn\n");
  static const char *const path[] = {"zeek: #path is not followed by the #separator", NULL};
  expect_reasons(r, path);
  pt_close(r);

  /* field count, #close, comments */
  r = feed_lines("zeek", "test",
                 "### BTest baseline data generated by btest-diff.\n" HEADER
                 "#fields\ta\tb\n#types\tcount\tcount\n1\t2\n1\t2\t3\n#close\tx\n5\t6\n");
  static const char *const lines[] = {"zeek: line has 3 fields, #fields names 2",
                                      "zeek: data line before a #fields header", NULL};
  expect_reasons(r, lines);
  assert_int_equal(r->sink.n_events, 1);
  assert_int_equal(pt_counts(r)->skipped, 10);
  pt_close(r);

  /* another separator, declared in the header */
  r = feed_lines(NULL, "test",
                 "#separator |\n#set_separator|;\n#fields|a|b\n#types|set[count]|string\n1;2|x y\n");
  assert_int_equal(r->sink.n_rejects, 0);
  json_object *ev = pt_event(r, 0);
  assert_string_equal(json_object_get_string(pt_key(ev, "a")), "[ 1, 2 ]");
  assert_string_equal(json_object_get_string(pt_key(ev, "b")), "x y");
  json_object_put(ev);
  pt_close(r);
}

static void test_tsv_path_from_file_name(void **state) {
  pt_run_t *r = feed_lines(NULL, "file:/var/log/zeek/conn.00:00:00-01:00:00.log",
                           "#separator \\x09\n#fields\tts\tid.orig_h\n#types\ttime\taddr\n"
                           "1.5\t10.1.1.1\n");
  json_object *ev = pt_event(r, 0);
  assert_string_equal(pt_str(ev, "event.dataset"), "zeek.conn");
  assert_string_equal(pt_str(ev, "event.type"), "[ \"connection\" ]");
  assert_string_equal(pt_str(ev, "@timestamp"), "1970-01-01T00:00:01.500Z");
  assert_string_equal(json_object_get_string(pt_key(ev, "ts")), "1970-01-01T00:00:01.500000Z");
  json_object_put(ev);
  pt_close(r);
}

/* ---- JSON ------------------------------------------------------------------ */

static json_object *one(const char *format, const char *source, const char *rec) {
  pt_run_t *r = pt_open(format, source);
  pt_feed(r, rec);
  if (r->sink.n_rejects) fail_msg("rejected: %s", r->sink.rejects[0]);
  assert_int_equal(r->sink.n_events, 1);
  json_object *ev = pt_event(r, 0);
  pt_close(r);
  return ev;
}

static void test_json(void **state) {
  /* Zeek's plain JSON writer: epoch numbers, no _path */
  json_object *ev = one(NULL, "file:/data/ssh.log",
                        "{\"ts\":1521911958.864751,\"uid\":\"CJq\",\"id.orig_h\":\"10.128.0.233\","
                        "\"id.orig_p\":36040,\"id.resp_h\":\"10.47.26.186\",\"id.resp_p\":22,"
                        "\"auth_success\":false,\"auth_attempts\":1}");
  assert_string_equal(json_object_get_string(pt_key(ev, "ts")), "2018-03-24T17:19:18.864751Z");
  assert_string_equal(pt_str(ev, "@timestamp"), "2018-03-24T17:19:18.864751Z");
  assert_string_equal(pt_str(ev, "event.dataset"), "zeek.ssh");
  assert_string_equal(pt_str(ev, "event.category"), "[ \"network\", \"authentication\" ]");
  assert_string_equal(pt_str(ev, "event.outcome"), "failure");
  assert_string_equal(pt_str(ev, "source.ip"), "10.128.0.233");
  assert_string_equal(pt_str(ev, "destination.port"), "22");
  json_object_put(ev);

  /* JSON Streaming: _path, ISO times, a message column, a user column */
  ev = one(NULL, "x", "{\"_path\":\"syslog\",\"_write_ts\":\"2018-03-24T17:15:20.6Z\","
                      "\"ts\":\"2018-03-24T17:15:20.609736Z\",\"uid\":\"C1\",\"facility\":\"LOCAL0\","
                      "\"message\":\"sshd[1]: Failed password\"}");
  assert_string_equal(pt_str(ev, "message"), "sshd[1]: Failed password");
  assert_string_equal(pt_str(ev, "_path"), "syslog");
  assert_string_equal(pt_str(ev, "logsource.service"), "syslog");
  json_object_put(ev);
  ev = one("zeek", "x", "{\"_path\":\"ftp\",\"ts\":1,\"uid\":\"C2\",\"user\":\"anonymous\","
                        "\"host\":\"h\",\"source\":\"FTP_DATA\"}");
  assert_string_equal(pt_str(ev, "user.name"), "anonymous");
  assert_string_equal(pt_str(ev, "zeek.user"), "anonymous");
  assert_string_equal(pt_str(ev, "zeek.host"), "h");
  assert_string_equal(pt_str(ev, "zeek.source"), "FTP_DATA");
  json_object_put(ev);
  ev = one("zeek", "x", "{\"_path\":\"notice\",\"ts\":1,\"note\":\"SSH::Password_Guessing\","
                        "\"src\":\"192.168.56.1\",\"dst\":\"192.168.56.103\",\"p\":22}");
  assert_string_equal(pt_str(ev, "event.kind"), "alert");
  assert_string_equal(pt_str(ev, "rule.name"), "SSH::Password_Guessing");
  assert_string_equal(pt_str(ev, "source.ip"), "192.168.56.1");
  assert_string_equal(pt_str(ev, "destination.ip"), "192.168.56.103");
  assert_string_equal(pt_str(ev, "destination.port"), "22");
  json_object_put(ev);
  /* a ts that is not a time is kept, and the record keeps the read time */
  ev = one("zeek", "x", "{\"ts\":\"soon\",\"uid\":\"C3\"}");
  assert_string_equal(pt_str(ev, "ts"), "soon");
  assert_string_equal(pt_str(ev, "@timestamp"), PT_RECEIVED_TEXT);
  assert_string_equal(pt_str(ev, "event.dataset"), "zeek");
  json_object_put(ev);

  pt_run_t *r = pt_open("zeek", "x");
  pt_feed(r, "[\"not\",\"zeek\"]");
  assert_int_equal(r->sink.n_rejects, 1);
  assert_non_null(strstr(pt_reject(r, 0), "element 0: zeek: a Zeek record is an object, not string"));
  pt_close(r);
  /* detection: ts alone is not Zeek */
  ev = one(NULL, "x", "{\"ts\":1}");
  assert_string_equal(pt_str(ev, "logsource.product"), "<absent>");
  json_object_put(ev);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_corpus),
      cmocka_unit_test(test_tsv_and_json_agree),
      cmocka_unit_test(test_tsv_types),
      cmocka_unit_test(test_tsv_bad_headers),
      cmocka_unit_test(test_tsv_path_from_file_name),
      cmocka_unit_test(test_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
