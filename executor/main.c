/* parry-executor: see executor/executor.h. */
#include "executor.h"

extern char **environ;

int main(int argc, char **argv) { return parry_executor_main(argc, argv, environ); }
