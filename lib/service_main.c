#include "parry/service_main.h"

#include "parry/log.h"
#include "parry/service.h"

int parry_service_main_idle(const char *component, const char *usage, const char *missing,
                            int argc, char **argv, char **envp) {
  parry_service_t *svc = NULL;
  int early = parry_service_open(component, usage, argc, argv, envp, &svc);
  if (early >= 0) return early;
  parry_log_action("waiting for work");
  parry_service_set_ready(svc, false, missing);
  LOG_WARN("%s", missing);
  parry_service_wait();
  LOG_INFO("stopping");
  parry_service_destroy(svc);
  return 0;
}
