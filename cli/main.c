/* parry: see cli/cli.h. */
#include <stdio.h>

#include "cli.h"

extern char **environ;

int main(int argc, char **argv) { return parry_cli_main(argc, argv, environ, stdout, stderr); }
