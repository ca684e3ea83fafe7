#include "executor.h"

#include "parry/service_main.h"

static const char usage[] =
    "usage: parry-executor [--config FILE] [--set key=value]...\n"
    "\n"
    "Settings: `parry config --reference` or docs/configuration.md.\n"
    "Environment: PARRY_CONFIG names the file; PARRY_<KEY> sets a key.\n";

int parry_executor_main(int argc, char **argv, char **envp) {
  return parry_service_main_idle("executor", usage, "cases and runbooks are not built yet (executor issue)", argc, argv, envp);
}
