/* The files a user starts from in examples/ do what their comments say. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "test_support.h"

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* Alerts written by `parry detect` over one event, with or without a map. */
static int count_alerts(const char *rule, const char *event, const char *field_map) {
  char out[8192] = "";
  FILE *o = fmemopen(out, sizeof out - 1, "w");
  FILE *e = fopen("/dev/null", "w");
  char *argv[8];
  int argc = 0;
  argv[argc++] = "detect";
  argv[argc++] = "--rules";
  argv[argc++] = (char *)rule;
  if (field_map) {
    argv[argc++] = "--field-map";
    argv[argc++] = (char *)field_map;
  }
  argv[argc++] = (char *)event;
  argv[argc] = NULL;
  char *envp[] = {NULL};
  int rc = parry_cmd_detect(argc, argv, envp, o, e);
  fclose(o);
  fclose(e);
  assert_int_equal(rc, 0);
  int n = 0;
  for (const char *p = out; (p = strchr(p, '\n')); p++) n++;
  return n;
}

/* Security 4688 names the new process NewProcessName; Sigma rules say Image.
 * The example map makes such rules see it, and leaves Sysmon events alone. */
static void test_windows_field_map(void **state) {
  char dir[] = "/tmp/parry-examples-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char rule[128], sec[128], sysmon[128], map[4200];
  snprintf(rule, sizeof rule, "%s/rule.yml", dir);
  snprintf(sec, sizeof sec, "%s/4688.json", dir);
  snprintf(sysmon, sizeof sysmon, "%s/sysmon1.json", dir);
  snprintf(map, sizeof map, "%s/examples/sigma/windows-field-map.yml", parry_test_source_dir());
  write_file(rule, "title: Whoami Execution\n"
                   "id: 3f0c6b7e-1d1a-4c55-9a3e-2b7f2a8e9c01\n"
                   "logsource: {category: process_creation, product: windows}\n"
                   "detection:\n  selection:\n    Image|endswith: '\\whoami.exe'\n"
                   "  condition: selection\nlevel: medium\n");
  write_file(sec, "{\"EventID\":4688,\"Channel\":\"Security\",\"Hostname\":\"wks1\","
                  "\"SourceName\":\"Microsoft-Windows-Security-Auditing\","
                  "\"@timestamp\":\"2024-01-02T03:04:05Z\","
                  "\"NewProcessName\":\"C:\\\\Windows\\\\System32\\\\whoami.exe\"}\n");
  write_file(sysmon, "{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\","
                     "\"Hostname\":\"wks1\",\"SourceName\":\"Microsoft-Windows-Sysmon\","
                     "\"@timestamp\":\"2024-01-02T03:04:05Z\","
                     "\"Image\":\"C:\\\\Windows\\\\System32\\\\whoami.exe\","
                     "\"NewProcessName\":\"C:\\\\other.exe\"}\n");
  assert_int_equal(count_alerts(rule, sec, NULL), 0);
  assert_int_equal(count_alerts(rule, sec, map), 1);
  assert_int_equal(count_alerts(rule, sysmon, NULL), 1);
  assert_int_equal(count_alerts(rule, sysmon, map), 1); /* its own Image wins */
  unlink(rule);
  unlink(sec);
  unlink(sysmon);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_windows_field_map)};
  return cmocka_run_group_tests_name("examples", tests, NULL, NULL);
}
