#include "parry/service_main.h"

#include <stdio.h>
#include <string.h>

#include "parry/log.h"
#include "parry/service.h"

int parry_service_main_idle(const char *component, const char *usage, const char *missing,
                            int argc, char **argv, char **envp) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("%s", usage);
      return 0;
    }
  }
  char err[1024];
  parry_service_t *svc;
  if (parry_service_start(component, &argc, argv, envp, &svc, err, sizeof err)) {
    fprintf(stderr, "parry-%s: %s\n", component, err);
    return 2;
  }
  if (argc > 1) {
    fprintf(stderr, "parry-%s: unexpected argument \"%s\" (see --help)\n", component, argv[1]);
    parry_service_destroy(svc);
    return 2;
  }
  parry_log_action("waiting for work");
  parry_service_set_ready(svc, false, missing);
  LOG_WARN("%s", missing);
  parry_service_wait();
  LOG_INFO("stopping");
  parry_service_destroy(svc);
  return 0;
}
