#include "correlator.h"

#include "parry/service_main.h"

static const char usage[] =
    "usage: parry-correlator [--config FILE] [--set key=value]...\n"
    "\n"
    "Settings: `parry config --reference` or docs/configuration.md.\n"
    "Environment: PARRY_CONFIG names the file; PARRY_<KEY> sets a key.\n";

int parry_correlator_main(int argc, char **argv, char **envp) {
  return parry_service_main_idle("correlator", usage, "Sigma detection and correlation are not built yet (correlator issues)", argc, argv, envp);
}
