#include "ingestor.h"

#include "parry/service_main.h"

static const char usage[] =
    "usage: parry-ingestor [--config FILE] [--set key=value]...\n"
    "\n"
    "Settings: `parry config --reference` or docs/configuration.md.\n"
    "Environment: PARRY_CONFIG names the file; PARRY_<KEY> sets a key.\n";

int parry_ingestor_main(int argc, char **argv, char **envp) {
  return parry_service_main_idle("ingestor", usage, "sources and parsers are not built yet (ingestor issue)", argc, argv, envp);
}
