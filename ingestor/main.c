/* parry-ingestor: see ingestor/ingestor.h. */
#include "ingestor.h"

extern char **environ;

int main(int argc, char **argv) { return parry_ingestor_main(argc, argv, environ); }
