/* parry-correlator: see correlator/correlator.h. */
#include "correlator.h"

extern char **environ;

int main(int argc, char **argv) { return parry_correlator_main(argc, argv, environ); }
